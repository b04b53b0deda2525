import { formatAbsolute, formatRelative } from '../format.ts';

export function TimeAgo({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatAbsolute(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
