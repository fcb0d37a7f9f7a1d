# outpost: SMTP relay. Multi-stage build on the official Node 24 slim image.
#   build:  docker build -t outpost .
#   run:    see README.md "Docker": the operator's config folder is mounted on
#           /etc/outpost; the image holds only the samples (/usr/share/outpost/config).

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
# Only the two sample files, never the rest of config/ (an operator's users, tls/, dkim/).
# `outpost init DIR` copies them from the package's config/ folder, which points here.
COPY config/outpost.yaml config/domains /usr/share/outpost/config/
RUN chmod 0755 /app/dist/cli.js \
 && ln -s /app/dist/cli.js /usr/local/bin/outpost \
 && ln -s /usr/share/outpost/config /app/config \
 && mkdir -p /etc/outpost /var/spool/outpost \
 && chown node:node /etc/outpost /var/spool/outpost \
 && chmod 0700 /var/spool/outpost
USER node
VOLUME ["/var/spool/outpost"]
EXPOSE 25 587 465
# GET /healthz on the configured http.address:port (127.0.0.1:8025 by default; a
# wildcard address is asked on loopback): 200 while the SMTP listeners are bound
# and the spool is writable. `outpost health` waits at most 8 s for the answer.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
  CMD ["outpost", "health"]
STOPSIGNAL SIGTERM
CMD ["outpost", "serve"]
