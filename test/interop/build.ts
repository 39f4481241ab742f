/**
 * Builds the Go Lifecycle server (test/interop/layotto-lifecycle) offline, in GOPATH mode over
 * Debian's /usr/share/gocode: the Go package is generated from proto/lifecycle.proto with protoc
 * into a GOPATH of its own under test/interop/.build (gitignored), the binary cached there and
 * rebuilt only when the proto or the server's source changes.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE = join(ROOT, 'test/interop/layotto-lifecycle');
const PROTO = join(ROOT, 'proto/lifecycle.proto');
const BUILD = join(ROOT, 'test/interop/.build');
/** Where protoc's output lands: the proto's go_package, `mosn.io/layotto/spec/proto/runtime/v1`. */
const GENERATED = join(BUILD, 'gopath/src/mosn.io/layotto/spec/proto/runtime/v1');
export const SERVER_BINARY = join(BUILD, 'layotto-lifecycle');

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The server binary, built if its inputs changed since the last build. */
export async function buildLifecycleServer(): Promise<string> {
  const inputs = await Promise.all([readFile(PROTO), readFile(join(SOURCE, 'main.go'))]);
  const stamp = createHash('sha256').update(inputs[0]).update(inputs[1]).digest('hex');
  const stampFile = join(BUILD, 'stamp');
  if ((await exists(SERVER_BINARY)) && (await readFile(stampFile, 'utf8').catch(() => '')) === stamp) return SERVER_BINARY;
  await mkdir(GENERATED, { recursive: true });
  await run('protoc', [
    `--proto_path=${join(ROOT, 'proto')}`,
    `--go_out=paths=source_relative:${GENERATED}`,
    `--go-grpc_out=paths=source_relative:${GENERATED}`,
    PROTO,
  ]);
  const env = {
    PATH: process.env.PATH,
    HOME: BUILD,
    GO111MODULE: 'off',
    GOPATH: `${join(BUILD, 'gopath')}:/usr/share/gocode`,
    GOCACHE: join(BUILD, 'gocache'),
    GOFLAGS: '',
    GOPROXY: 'off',
  };
  await run('go', ['build', '-o', SERVER_BINARY, '.'], { cwd: SOURCE, env });
  await writeFile(stampFile, stamp);
  return SERVER_BINARY;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await buildLifecycleServer());
}
