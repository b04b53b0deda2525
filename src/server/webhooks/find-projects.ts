import type { ProjectRow, Store } from '../../store/store.ts';
import { normalizeRepoUrl } from '../services/projects.ts';

/**
 * Projects whose repository is one of `urls`, each once, by name. A payload names its
 * repository several ways (clone, web, SSH URLs); project URLs are stored normalized, so each
 * spelling is normalized the same way, and all of them are looked up in one query.
 */
export async function findProjectsByRepository(store: Store, urls: string[]): Promise<ProjectRow[]> {
  const candidates = [...new Set(urls.map(normalizeRepoUrl).filter((url) => url !== ''))];
  const found = await store.findProjectsByRepoUrls(candidates);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
