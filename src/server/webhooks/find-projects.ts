import type { ProjectRow, Store } from '../../store/store.ts';
import { normalizeRepoUrl } from '../services/projects.ts';

/**
 * Projects whose repository is one of `urls`, each once, by name. A payload names its
 * repository several ways (clone, web, SSH URLs); project URLs are stored normalized, so each
 * spelling is normalized the same way and looked up once.
 */
export async function findProjectsByRepository(store: Store, urls: string[]): Promise<ProjectRow[]> {
  const candidates = [...new Set(urls.map(normalizeRepoUrl).filter((url) => url !== ''))];
  const found = await Promise.all(candidates.map((url) => store.findProjectByRepoUrl(url)));
  const byId = new Map(found.flat().map((project) => [project.id, project]));
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}
