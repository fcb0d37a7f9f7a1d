# outpost: SMTP relay. Multi-stage build on the official Node 24 slim image.
#   build:  docker build -t outpost .
#   run:    see README.md "Docker"

FROM node:24-slim AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    OUTPOST_CONFIG=/etc/outpost/outpost.yaml \
    OUTPOST_SPOOL_DIR=/var/spool/outpost
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config/ /etc/outpost/
RUN chmod 0755 /app/dist/cli.js \
 && ln -s /app/dist/cli.js /usr/local/bin/outpost \
 && mkdir -p /var/spool/outpost \
 && chown node:node /var/spool/outpost \
 && chmod 0700 /var/spool/outpost
USER node
VOLUME ["/var/spool/outpost"]
EXPOSE 25 587 465
# Health: GET /healthz on the operations endpoint (http: 127.0.0.1:8025 by default):
# 200 while the SMTP listeners are bound and the spool is writable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8025/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["outpost", "serve"]
