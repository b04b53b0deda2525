import type { ReactNode } from 'react';

/** Deployment and environment URLs live on other hosts (`*.localhost`), so they open in a new tab. */
export function ExternalLink({ href, children, className }: { href: string; children?: ReactNode; className?: string }) {
  return (
    <a href={href} target="_blank" rel="noreferrer" className={className}>
      {children ?? href.replace(/^https?:\/\//, '').replace(/\/$/, '')}
      <span className="external" aria-hidden="true">
        ↗
      </span>
    </a>
  );
}
