// The steady load of test/support/steady-load.ts in a process of its own, driven over IPC by
// a bench: the load then competes with the server for the CPU as an outside client would,
// instead of sharing its event loop. Messages: in `{ start: SteadyLoadOptions }`, then
// `{ stop: true }`; out `{ started: true }`, then `{ result: LoadResult }`.
import { fork } from 'node:child_process';
import { startSteadyLoad } from '../test/support/steady-load.ts';
import type { LoadResult, SteadyLoad, SteadyLoadOptions } from '../test/support/steady-load.ts';

interface Message {
  start?: SteadyLoadOptions;
  stop?: boolean;
}

/** Starts the load in a child process; `stop()` ends it and returns its result. */
export async function startLoadProcess(options: SteadyLoadOptions): Promise<{ stop(): Promise<LoadResult> }> {
  const child = fork(new URL(import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        resolve(message[key] as T);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`the load process exited (${code}) before it answered`)));
    });
  const started = next<boolean>('started');
  child.send({ start: options });
  await started;
  return {
    async stop() {
      const result = next<LoadResult>('result');
      child.send({ stop: true });
      const answer = await result;
      child.disconnect();
      return answer;
    },
  };
}

if (process.send !== undefined && process.argv[1] === new URL(import.meta.url).pathname) {
  let load: SteadyLoad | undefined;
  process.on('message', (message: Message) => {
    if (message.start !== undefined) {
      load = startSteadyLoad(message.start);
      process.send?.({ started: true });
    } else if (message.stop === true && load !== undefined) {
      void load.stop().then((result) => process.send?.({ result }));
    }
  });
  process.on('disconnect', () => process.exit(0));
}
