/** Container names as Docker allows them; stored with a leading slash (`/web`). */
import { randomInt } from 'node:crypto';
import { invalidArgument } from '../errors.js';

const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function normaliseContainerName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name : `/${name}`;
}

// A small version of moby's namesgenerator: adjective_surname.
const LEFT = [
  'admiring',
  'brave',
  'clever',
  'dazzling',
  'eager',
  'focused',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'laughing',
  'modest',
  'nifty',
  'optimistic',
  'peaceful',
  'quirky',
  'relaxed',
  'serene',
  'tender',
  'upbeat',
  'vibrant',
  'wizardly',
  'youthful',
  'zealous',
];
const RIGHT = [
  'albattani',
  'babbage',
  'curie',
  'darwin',
  'euclid',
  'fermi',
  'goldberg',
  'hopper',
  'jepsen',
  'knuth',
  'lovelace',
  'mccarthy',
  'noether',
  'pascal',
  'ritchie',
  'shannon',
  'thompson',
  'turing',
  'wilson',
  'yalow',
];

export function generateContainerName(retry: number): string {
  const name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
  return `/${retry > 0 ? `${name}${randomInt(10)}` : name}`;
}
