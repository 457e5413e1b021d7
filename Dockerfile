# The Ambit image: one image for every command, chosen by the first argument
# (`ambit node` | `ambit control` | `ambit waypoint`; deploy/ runs each with its own args).
#   docker build -t ambit:0.1.0 .
#
# Build stage: the full Debian image has node-gyp's toolchain (python3, make, g++) for the native
# socket addon, which `npm ci` builds (its install script); AMBIT_NATIVE_STRICT=1 makes a failed
# addon build fail the image instead of shipping an agent that cannot capture.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
ENV AMBIT_NATIVE_STRICT=1
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig.json also includes test/ and bench/; absent here, only src/ is compiled (to dist/src,
# rootDir "."). Then the dev dependencies go.
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

# Runtime stage: Node on Debian slim, plus what the node agent runs inside pod network namespaces
# when it installs redirect rules itself (deploy/overlays/own-rules): iptables (its nf_tables
# backend, Debian's default) and iproute2 for `ip rule`/`ip route`; `nsenter` is util-linux's,
# already in the base image.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# package.json: "type": "module" for dist/, and the root the native loader and proto/ are found from.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/build/Release/ambit_sockets.node ./build/Release/ambit_sockets.node
COPY --from=build /src/dist/src ./dist/src
# The xDS and CA schemas, loaded at run time (src/xds/proto-root.ts).
COPY proto ./proto
# Non-root by default: the control plane and waypoints run as this user; the node agent's
# DaemonSet runs it as uid 0 with exactly the capabilities it needs.
USER 1000:1000
# --single-threaded-gc --max-semi-space-size=4: AGENT_NODE_FLAGS (src/bin/node-flags.ts); see "Performance" in the README.
ENTRYPOINT ["node", "--single-threaded-gc", "--max-semi-space-size=4", "/app/dist/src/bin/ambit.js"]
CMD ["help"]
