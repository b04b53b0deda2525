import { CopyButton } from './copy-button.tsx';

/** The command that builds and deploys a branch: `git push <gitUrl> main` (the token is the password). */
export function GitPushHint({ gitUrl, branch = 'main' }: { gitUrl: string; branch?: string }) {
  const command = `git push ${gitUrl} ${branch}`;
  return (
    <span className="git-push">
      <code className="git-push-command" title="Your API token is the password">
        {command}
      </code>
      <CopyButton text={command} label="Copy the git push command" />
    </span>
  );
}
