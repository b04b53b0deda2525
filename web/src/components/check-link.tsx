import { isWebUrl } from '../format.ts';

/** A check's name, linking to its run when the reporter gave an http(s) URL (anything else stays text). */
export function CheckLink({ name, url }: { name: string; url: string | null }) {
  if (!isWebUrl(url)) return <code>{name}</code>;
  return (
    <a href={url} target="_blank" rel="noreferrer" className="check-name">
      <code>{name}</code>
      <span className="external" aria-hidden="true">
        ↗
      </span>
    </a>
  );
}
