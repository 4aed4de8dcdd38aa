# trackstream in a container. docker-compose.yml runs it beside TimescaleDB and Redis.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p /data && chown node:node /data
ENV HOST=0.0.0.0 DATA_DIR=/data LOG_FORMAT=json
EXPOSE 8080 1883
USER node
CMD ["node", "--import", "tsx", "server/main.ts"]
