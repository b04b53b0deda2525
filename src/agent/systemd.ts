/**
 * The systemd unit `--print-systemd` prints. KillMode=process: when the agent itself crashes and
 * systemd restarts it, the service it runs keeps serving and the new agent adopts it; a clean
 * `systemctl stop` sends SIGTERM to the agent, which stops the service (SIGTERM to its group,
 * SIGKILL after stop_timeout) before it exits.
 */
export function systemdUnit(options: { node: string; script: string; args: readonly string[]; user?: string | undefined }): string {
  const quote = (word: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\$`])/g, '\\$1')}"`);
  const exec = [options.node, options.script, ...options.args].map(quote).join(' ');
  return [
    '[Unit]',
    'Description=Slipway agent',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=${exec}`,
    ...(options.user ? [`User=${options.user}`] : []),
    'Restart=always',
    'RestartSec=2',
    'KillMode=process',
    'TimeoutStopSec=120',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
