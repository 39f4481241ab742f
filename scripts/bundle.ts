/**
 * The agent as it ships: src/cli/main.ts and everything it imports, dependencies included, in one
 * minified ES module, `dist/apollo-sidecar-agent.mjs`, which bin/apollo-sidecar-agent.js runs.
 * Loading one file instead of some 400 modules from node_modules saves the process about 20 MB
 * (docs/benchmarks.md). `npm run build` runs it after tsc, whose dist/ stays the library API.
 *
 * The build fails if the bundle takes in a module the agent must not load: undici (Node's
 * fetch, which also needs WebAssembly) or a protobuf runtime (the request has its own encoder).
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const BUNDLE_PATH = fileURLToPath(new URL('../dist/apollo-sidecar-agent.mjs', import.meta.url));

const FORBIDDEN = /(?:^|\/)(?:undici|protobufjs|@grpc\/proto-loader)\//;

const result = await build({
  entryPoints: [fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))],
  outfile: BUNDLE_PATH,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'esm',
  minify: true,
  // Kept next to the bundle, read only under `node --enable-source-maps`.
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // grpc-js requires proto-loader only inside its channelz and ORCA server services, which the
  // agent never starts; left out, a call would find it installed beside grpc-js, its dependency.
  external: ['@grpc/proto-loader'],
  // The CommonJS dependencies (grpc-js, winston, prom-client) call require() for Node's modules.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
});

const forbidden = Object.keys(result.metafile.inputs).filter((input) => FORBIDDEN.test(input));
if (forbidden.length > 0) {
  throw new Error(`the agent bundle must not contain ${forbidden.join(', ')}`);
}
