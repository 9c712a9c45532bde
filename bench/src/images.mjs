/**
 * The images both daemons get: busybox (Debian's busybox-static laid out by the testkit's
 * makeBusyboxRootfs, imported with `docker import`), and for `load` a generated single-layer
 * image in the docker-archive layout (manifest.json + config + layer.tar) written with tar-stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeBusyboxRootfs } from '@tsdocker/core/testkit';
import tar from 'tar-stream';
import { mustRun } from './commands.mjs';

const MiB = 1024 * 1024;
const MTIME = new Date('2025-01-01T00:00:00Z');

/** Builds the busybox rootfs under `dir/busybox-rootfs` and its tar beside it. @param {string} dir */
export async function buildBusybox(dir) {
  const rootfs = join(dir, 'busybox-rootfs');
  await mkdir(rootfs, { recursive: true });
  await makeBusyboxRootfs(rootfs);
  const tarPath = join(dir, 'busybox-rootfs.tar');
  await mustRun('tar', ['-C', rootfs, '--numeric-owner', '-cf', tarPath, '.']);
  return { rootfs, tarPath };
}

/** @param {import('tar-stream').Pack} pack @param {Partial<import('tar-stream').Header> & { name: string }} header @param {Buffer} [data] @returns {Promise<void>} */
function addEntry(pack, header, data) {
  return new Promise((resolve, reject) => {
    const done = (/** @type {Error | null | undefined} */ err) => (err ? reject(err) : resolve());
    const h = { ...header, uid: header.uid ?? 0, gid: header.gid ?? 0, mtime: header.mtime ?? MTIME };
    if (data) pack.entry(h, data, done);
    else pack.entry(h, done);
  });
}

/**
 * Adds a directory tree (dirs, files, symlinks), in sorted order.
 * @param {import('tar-stream').Pack} pack @param {string} root @param {string} [rel]
 */
async function addTree(pack, root, rel = '') {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const full = join(root, path);
    const st = lstatSync(full);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      await addEntry(pack, { name: `${path}/`, type: 'directory', mode });
      await addTree(pack, root, path);
    } else if (st.isSymbolicLink()) {
      await addEntry(pack, { name: path, type: 'symlink', linkname: readlinkSync(full), mode });
    } else if (st.isFile()) {
      await addEntry(pack, { name: path, type: 'file', mode, size: st.size }, readFileSync(full));
    }
  }
}

/**
 * @typedef {object} LoadArchive
 * @property {string} archive  the docker-archive tar to `docker load -i`
 * @property {string} layerTar the image's only layer, for `tar -x`
 * @property {string} tag
 * @property {number} layerBytes
 * @property {number} files    regular files in the layer
 */

/**
 * Writes a single-layer image: busybox plus `dataMb` MiB of random (incompressible) data, about
 * nine tenths in 1 MiB files and one tenth in 4 KiB files (many inodes, like real images).
 * @param {{ dir: string, busyboxRoot: string, dataMb: number, tag: string }} o
 * @returns {Promise<LoadArchive>}
 */
export async function writeLoadArchive(o) {
  await mkdir(o.dir, { recursive: true });
  const layerTar = join(o.dir, 'layer.tar');
  const pack = tar.pack();
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const written = pipeline(pack, hashing, createWriteStream(layerTar));
  await addTree(pack, o.busyboxRoot);
  const bigFiles = Math.floor((o.dataMb * 0.9 * MiB) / MiB);
  const smallFiles = Math.floor((o.dataMb * MiB - bigFiles * MiB) / 4096);
  let files = 0;
  if (bigFiles + smallFiles > 0) {
    await addEntry(pack, { name: 'data/', type: 'directory', mode: 0o755 });
    for (let i = 0; i < bigFiles; i++) {
      await addEntry(
        pack,
        { name: `data/big-${i}.bin`, type: 'file', mode: 0o644, size: MiB },
        randomBytes(MiB),
      );
      files++;
    }
    for (let i = 0; i < smallFiles; i++) {
      if (i % 500 === 0)
        await addEntry(pack, { name: `data/small-${i / 500}/`, type: 'directory', mode: 0o755 });
      const name = `data/small-${Math.floor(i / 500)}/f-${i}.bin`;
      await addEntry(pack, { name, type: 'file', mode: 0o644, size: 4096 }, randomBytes(4096));
      files++;
    }
  }
  pack.finalize();
  await written;
  const diffId = hash.digest('hex');
  const layerBytes = statSync(layerTar).size;

  const created = MTIME.toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created,
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
      history: [{ created, created_by: 'tsdocker bench: generated busybox + random data' }],
    }),
  );
  const configHex = createHash('sha256').update(config).digest('hex');
  const [repo, tagName] = o.tag.split(':');
  const manifest = Buffer.from(
    JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [o.tag], Layers: [`${diffId}/layer.tar`] }]),
  );
  const repositories = Buffer.from(JSON.stringify({ [repo]: { [tagName]: diffId } }));

  // Entry order as `docker save` (20.10) writes it: names sorted.
  const archive = join(o.dir, 'image.tar');
  const outer = tar.pack();
  const done = pipeline(outer, createWriteStream(archive));
  await addEntry(
    outer,
    { name: `${configHex}.json`, type: 'file', mode: 0o644, size: config.length },
    config,
  );
  await addEntry(outer, { name: `${diffId}/`, type: 'directory', mode: 0o755 });
  await new Promise((resolve, reject) => {
    const entry = outer.entry({
      name: `${diffId}/layer.tar`,
      type: 'file',
      mode: 0o644,
      size: layerBytes,
      mtime: MTIME,
    });
    pipeline(createReadStream(layerTar), entry).then(resolve, reject);
  });
  await addEntry(
    outer,
    { name: 'manifest.json', type: 'file', mode: 0o644, size: manifest.length },
    manifest,
  );
  await addEntry(
    outer,
    { name: 'repositories', type: 'file', mode: 0o644, size: repositories.length },
    repositories,
  );
  outer.finalize();
  await done;
  await writeFile(join(o.dir, 'README'), `generated by tsdocker bench: ${o.tag}, ${files} data files\n`);
  return { archive, layerTar, tag: o.tag, layerBytes, files };
}
