# Cruddur Messages: one image for the server (`npm start`) and its commands (`npm run db -- ...`).
# TypeScript runs through tsx, a runtime dependency: the only build is the web page's, in its own stage.
FROM node:20-slim AS web

# The web page, built with its devDependencies (Vite) in a stage of its own: the image keeps only web/dist.
WORKDIR /app
COPY package.json package-lock.json ./
COPY contracts/package.json contracts/
COPY client/package.json client/
COPY web/package.json web/
RUN npm ci --no-audit --no-fund
COPY contracts contracts
COPY client client
COPY web web
RUN npm run build:web

FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    NODE_NO_WARNINGS=1 \
    HOST=0.0.0.0 \
    PORT=4567

# Dependencies first, so that code changes do not reinstall them. The workspaces (contracts, client)
# are linked by `npm ci`, which needs their package.json files.
COPY package.json package-lock.json ./
COPY contracts/package.json contracts/
COPY client/package.json client/
COPY web/package.json web/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The code (.dockerignore keeps out node_modules, tests, local data and secrets).
COPY . .
# `npm start` serves it as built (in production it never builds).
COPY --from=web /app/web/dist web/dist

USER node
EXPOSE 4567
CMD ["npm", "start"]
