import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../../domain/errors.js';
import { hashText } from '../../domain/hash.js';
import { holdsSecrets } from '../../domain/masking.js';
import type { NamespaceContent } from '../../domain/snapshot.js';
import type { Logger } from '../../observability/logger.js';
import { readStateFile, removeStateFile, writeStateFile } from '../../storage/state-dir.js';
import type { NamespaceName } from './namespace-name.js';
import { parseProperties, propertiesComments, stringifyProperties } from '../properties-text.js';

/** What the cache keeps of a namespace's release. */
export type CachedNamespace = Pick<NamespaceContent, 'releaseKey' | 'configurations'>;

/** A cached release as read, with the hash of the file's text (the content part of its identity). */
export interface ReadCachedNamespace extends CachedNamespace {
  readonly contentHash: string;
}

const MARKER = 'apollo-sidecar-agent ';

/** What the properties format cannot hold, kept in one comment line that Java ignores. */
const headerSchema = z.object({
  version: z.literal(1),
  namespace: z.string(),
  releaseKey: z.string(),
});

export interface NamespaceCacheOptions {
  /** `<state-dir>/apollo-cache`. */
  readonly dir: string;
  readonly appId: string;
  readonly cluster: string;
  readonly logger: Logger;
  /** false (`--cache-secrets=false`): a namespace holding secret-looking keys is not kept on disk. */
  readonly cacheSecrets?: boolean;
}

/** A file-name component that cannot climb out of its directory whatever Apollo calls things. */
function safeComponent(text: string): string {
  return encodeURIComponent(text).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
}

/**
 * apollo-java's local cache (`LocalFileConfigRepository`):
 * `{dir}/{appId}/config-cache/{appId}+{cluster}+{namespace}.properties`, the configurations as
 * properties (non-properties namespaces as their single `content` key, as Java does), plus
 * the releaseKey in a comment so that a restart knows which release it holds.
 */
export class NamespaceCache {
  constructor(private readonly options: NamespaceCacheOptions) {}

  pathFor(namespace: NamespaceName): string {
    const { dir, appId, cluster } = this.options;
    const file = [appId, cluster, namespace.remote].map(safeComponent).join('+');
    return join(dir, safeComponent(appId), 'config-cache', `${file}.properties`);
  }

  /** The cached content, or undefined when there is none or it cannot be read. */
  async read(namespace: NamespaceName): Promise<ReadCachedNamespace | undefined> {
    const path = this.pathFor(namespace);
    let text: string | undefined;
    try {
      // Nothing under the cache dir is followed: a planted link is reported, not read.
      text = await readStateFile(path, { root: this.options.dir });
    } catch (error) {
      this.options.logger.warn('Apollo cache unreadable', { namespace: namespace.configured, path, error: errorMessage(error) });
      return undefined;
    }
    if (text === undefined) return undefined;
    let configurations: Record<string, string>;
    try {
      configurations = parseProperties(text);
    } catch (error) {
      this.options.logger.warn('Apollo cache unreadable', { namespace: namespace.configured, path, error: errorMessage(error) });
      return undefined;
    }
    const header = propertiesComments(text).find((comment) => comment.startsWith(MARKER));
    let releaseKey = '';
    if (header !== undefined) {
      try {
        releaseKey = headerSchema.parse(JSON.parse(header.slice(MARKER.length))).releaseKey;
      } catch {
        this.options.logger.warn('Apollo cache header unreadable; using its content without a releaseKey', {
          namespace: namespace.configured,
          path,
        });
      }
    }
    return { releaseKey, configurations, contentHash: hashText(text) };
  }

  /** Replaces the cached content atomically; throws when it could not. */
  async write(namespace: NamespaceName, content: CachedNamespace): Promise<void> {
    const path = this.pathFor(namespace);
    if (this.options.cacheSecrets === false && holdsSecrets(content.configurations)) {
      // What an earlier run with secrets cached left is removed, not just left to age.
      await removeStateFile(path, { root: this.options.dir });
      this.options.logger.info('Apollo namespace not cached: it holds secret-looking values (--cache-secrets=false)', { namespace: namespace.configured });
      return;
    }
    const header = JSON.stringify({ version: 1, namespace: namespace.remote, releaseKey: content.releaseKey });
    const { configurations } = content;
    // The default sort orders by UTF-16 code units, as `<` does, without a comparator call per pair.
    const entries = Object.keys(configurations)
      .sort()
      .map((key): [string, string] => [key, configurations[key] ?? '']);
    const text = stringifyProperties(entries, { comments: ['Persisted by apollo-sidecar-agent', `${MARKER}${header}`], ascii: true });
    await writeStateFile(path, text, { root: this.options.dir });
  }
}
