# Cruddur Messages: one image for the server (`npm start`) and its commands (`npm run db -- ...`).
# TypeScript runs through tsx, which is a runtime dependency, so no build step and no devDependencies.
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
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The code (.dockerignore keeps out node_modules, tests, local data and secrets).
COPY . .

USER node
EXPOSE 4567
CMD ["npm", "start"]
