import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { Deployment } from '../../../../src/protocol/api.ts';
import type { ApiError } from '../../../../src/protocol/client.ts';
import { DeploymentsTable } from '../../components/deployments-table.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { Toast } from '../../components/toast.tsx';
import { formatCount } from '../../format.ts';
import { deploymentsHref } from '../../route.ts';
import { asApiError, useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';
import '../../styles/release.css';

const PAGE = 30;
/** How long typing rests before the address (and the list) follow the search box. */
const TYPING_MS = 300;

/**
 * The project's deployments, newest first, searchable by branch, commit, author, message or id
 * (the search lives in the address: `#/projects/shop/deployments?q=ada`, so a search can be
 * shared and survives a reload). The newest page stays fresh; older pages load on demand.
 */
export function DeploymentsTab({ project, query }: { project: string; query: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, deployments] = await Promise.all([client.getProjectStatus(project), client.listDeployments(project, { limit: PAGE, ...(query.trim() === '' ? {} : { q: query }) })]);
    return { environments: status.environments.filter((e) => e.retiredAt === null), deployments: deployments.deployments, promote: status.project.actions?.promote };
  }, [client, project, query]);
  const poll = useLive(load, { project, topics: ['deployments', 'environments'] });
  // A new search loads at once, not at the next look.
  const { refresh } = poll;
  const searched = useRef(query);
  useEffect(() => {
    if (searched.current === query) return;
    searched.current = query;
    void refresh();
  }, [query, refresh]);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);

  // Older pages, fetched once each (deployments never change); a new search starts over.
  const [older, setOlder] = useState<{ query: string; deployments: Deployment[]; end: boolean }>({ query, deployments: [], end: false });
  const [moreError, setMoreError] = useState<ApiError | undefined>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const head = poll.data?.deployments ?? [];
  const olderHere = older.query === query ? older : { query, deployments: [], end: false };
  const seen = new Set(head.map((d) => d.id));
  const deployments = [...head, ...olderHere.deployments.filter((d) => !seen.has(d.id))];
  const end = head.length < PAGE || olderHere.end;

  const loadMore = async () => {
    const last = deployments.at(-1);
    if (last === undefined) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await client.listDeployments(project, { limit: PAGE, before: last.id, ...(query.trim() === '' ? {} : { q: query }) });
      setOlder({ query, deployments: [...olderHere.deployments, ...page.deployments], end: page.deployments.length < PAGE });
    } catch (err) {
      setMoreError(asApiError(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const data = poll.data;
  return (
    <section className="section" aria-labelledby="deployments-title">
      <h2 id="deployments-title">Deployments</h2>
      <SearchBox project={project} query={query} />
      {poll.error && <ErrorNote error={poll.error} />}
      {data === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : query.trim() !== '' && deployments.length === 0 ? (
        <p className="card empty" role="status">
          No deployment matches <strong>“{query}”</strong>. <a href={deploymentsHref(project)}>Show every deployment</a>
        </p>
      ) : (
        <>
          {query.trim() !== '' && (
            <p className="deployments-found muted small" role="status">
              {formatCount(deployments.length, 'deployment')}
              {end ? '' : ' so far'} matching “{query}”
            </p>
          )}
          <div className="card flush">
            <DeploymentsTable project={project} deployments={deployments} environments={data.environments} promote={data.promote} refresh={poll.refresh} onDone={setNotice} />
            {!end && (
              <div className="list-more">
                <button type="button" className="button" disabled={loadingMore} onClick={() => void loadMore()}>
                  {loadingMore ? 'Loading…' : 'Load older deployments'}
                </button>
              </div>
            )}
          </div>
          {moreError && <ErrorNote error={moreError} />}
        </>
      )}
      <Toast message={notice} onClose={closeNotice} />
    </section>
  );
}

/**
 * The search box: what is typed reaches the address after a pause (replacing it, so Back leaves
 * the tab rather than undoing letters); Enter applies it at once; Escape clears it.
 */
function SearchBox({ project, query }: { project: string; query: string }) {
  const [text, setText] = useState(query);
  // The address changed from elsewhere (Back, a link): the box follows it.
  useEffect(() => setText(query), [query]);
  useEffect(() => {
    if (text === query) return undefined;
    const timer = window.setTimeout(() => window.location.replace(deploymentsHref(project, text.trim())), TYPING_MS);
    return () => window.clearTimeout(timer);
  }, [text, query, project]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    window.location.replace(deploymentsHref(project, text.trim()));
  };
  return (
    <form className="deployments-search" role="search" aria-label="Search deployments" onSubmit={submit}>
      <label className="field">
        <span>Branch, commit, author, message or id</span>
        <input
          type="search"
          value={text}
          maxLength={200}
          placeholder="e.g. main ada checkout"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && text !== '') {
              e.preventDefault();
              setText('');
            }
          }}
        />
      </label>
      <button type="submit" className="button">
        Search
      </button>
    </form>
  );
}
