// Entry of the worker thread that validates large upload manifests (upload-request.ts). In the
// compiled package (dist/) the JavaScript module sits next to this file. From the sources, a
// worker may start without the module hooks that let its parent load TypeScript (bin/slipway
// registers tsx at run time; Node 20 does not hand `--import tsx` to workers): it then
// registers tsx the way bin/slipway does, and loads the TypeScript module.
import { existsSync } from 'node:fs';

const compiled = new URL('./upload-request-work.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  try {
    await import('./upload-request-work.ts');
  } catch (err) {
    if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    const { register } = await import('tsx/esm/api');
    register();
    // A failed import is remembered per URL: ask again under another one.
    await import('./upload-request-work.ts?tsx');
  }
}
