/**
 * Compiles a resolved seccomp filter (core's `SeccompSpec`, OCI's `linux.seccomp`) into a
 * classic BPF program with libseccomp's semantics, for the x86 family:
 *
 * - the architecture is checked first (x86_64 and x32 share AUDIT_ARCH_X86_64 and are told
 *   apart by the x32 bit of the syscall number); an architecture the filter does not cover
 *   kills the process;
 * - as runc does, a syscall number above the highest one the profile names returns ENOSYS, so
 *   a libc probing a syscall newer than the profile falls back instead of failing with EPERM;
 * - rules naming the same syscall are alternatives, each an AND of 64-bit argument comparisons
 *   (32-bit halves on the 32-bit ABI); a syscall none of whose rules match gets the default
 *   action; syscall names unknown on an architecture are skipped, as libseccomp does.
 */
import type { SeccompAction, SeccompArg, SeccompSpec, SeccompSyscall } from '@tsdocker/core';
import { invalidArgument } from '@tsdocker/core';
import { BPF, BpfAssembler, SECCOMP_DATA } from './bpf.js';
import { SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from './syscall-tables.js';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const X32_SYSCALL_BIT = 0x40000000;

const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const EPERM = 1;
const ENOSYS = 38;

/** `seccomp(2)` filter flags by OCI name. */
const FILTER_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

type ArchName = 'SCMP_ARCH_X86_64' | 'SCMP_ARCH_X32' | 'SCMP_ARCH_X86';

const TABLES: Record<ArchName, Readonly<Record<string, number>>> = {
  SCMP_ARCH_X86_64: SYSCALLS_X86_64,
  SCMP_ARCH_X32: SYSCALLS_X32,
  SCMP_ARCH_X86: SYSCALLS_X86,
};

/** Architectures a filter may list that can never run on an x86 host: nothing to compile. */
const FOREIGN_ARCHES = new Set([
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
]);

export interface CompiledSeccomp {
  /** `struct sock_filter[]`, ready for SECCOMP_SET_MODE_FILTER. */
  program: Buffer;
  /** Flags for seccomp(2). */
  flags: number;
}

function actionValue(action: SeccompAction, errnoRet: number | undefined): number {
  const data = (errnoRet ?? EPERM) & 0xffff;
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return RET.ALLOW;
    case 'SCMP_ACT_ERRNO':
      return (RET.ERRNO | data) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return RET.TRAP;
    case 'SCMP_ACT_TRACE':
      return (RET.TRACE | data) >>> 0;
    case 'SCMP_ACT_LOG':
      return RET.LOG;
    case 'SCMP_ACT_NOTIFY':
      throw invalidArgument(
        'seccomp: SCMP_ACT_NOTIFY needs a seccomp agent, which this runtime does not support',
      );
    default:
      throw invalidArgument(`seccomp: unknown action ${JSON.stringify(action)}`);
  }
}

const hi32 = (v: number) => Math.floor(v / 2 ** 32) >>> 0;
const lo32 = (v: number) => v >>> 0;

interface Rule {
  ret: number;
  args: SeccompArg[];
}

/** Emits the comparisons of one argument; falls through when it holds, jumps to `fail` when not. */
function emitComparison(asm: BpfAssembler, arg: SeccompArg, wide: boolean, fail: string): void {
  const pass = asm.newLabel('pass');
  const { index, op } = arg;
  if (!Number.isInteger(index) || index < 0 || index > 5)
    throw invalidArgument(`seccomp: bad argument index ${index}`);
  const value = arg.value;
  const valueTwo = arg.valueTwo ?? 0;
  for (const v of [value, valueTwo])
    if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(`seccomp: bad argument value ${v}`);
  // On the 32-bit ABI only the low halves exist (the kernel zero-extends them).
  const vHi = wide ? hi32(value) : 0;
  const vLo = lo32(value);
  const loadHi = () => asm.load(SECCOMP_DATA.argHi(index));
  const loadLo = () => asm.load(SECCOMP_DATA.argLo(index));

  switch (op) {
    case 'SCMP_CMP_EQ':
      if (wide) {
        loadHi();
        asm.jump(BPF.JEQ_K, vHi, 0, fail);
      }
      loadLo();
      asm.jump(BPF.JEQ_K, vLo, 0, fail);
      break;
    case 'SCMP_CMP_NE':
      if (wide) {
        loadHi();
        asm.jump(BPF.JEQ_K, vHi, 0, pass);
      }
      loadLo();
      asm.jump(BPF.JEQ_K, vLo, fail, 0);
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      // (arg & value) == valueTwo
      if (wide) {
        loadHi();
        asm.and(hi32(value));
        asm.jump(BPF.JEQ_K, hi32(valueTwo) & hi32(value), 0, fail);
      }
      loadLo();
      asm.and(lo32(value));
      asm.jump(BPF.JEQ_K, (lo32(valueTwo) & lo32(value)) >>> 0, 0, fail);
      break;
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      // a > v (or >=) on 64 bits: high words decide unless equal, then the low words.
      const lowOp = op === 'SCMP_CMP_GT' || op === 'SCMP_CMP_LE' ? BPF.JGT_K : BPF.JGE_K;
      const positive = op === 'SCMP_CMP_GT' || op === 'SCMP_CMP_GE';
      const yes = positive ? pass : fail;
      const no = positive ? fail : pass;
      if (wide) {
        loadHi();
        asm.jump(BPF.JGT_K, vHi, yes, 0);
        asm.jump(BPF.JEQ_K, vHi, 0, no);
      }
      loadLo();
      asm.jump(lowOp, vLo, yes, no);
      break;
    }
    default:
      throw invalidArgument(`seccomp: unknown operator ${JSON.stringify(op)}`);
  }
  asm.label(pass);
}

/** The rules of one architecture: syscall number → its rules, in the profile's order. */
function rulesByNumber(spec: SeccompSpec, table: Readonly<Record<string, number>>, defaultRet: number) {
  const byNr = new Map<number, Rule[]>();
  let highest = -1;
  for (const call of spec.syscalls as SeccompSyscall[]) {
    const ret = actionValue(call.action, call.errnoRet);
    for (const name of call.names) {
      const nr = Object.hasOwn(table, name) ? table[name] : undefined;
      if (nr === undefined) continue;
      highest = Math.max(highest, nr);
      const args = call.args ?? [];
      // An unconditional rule with the default action changes nothing (runc skips it too).
      if (args.length === 0 && ret === defaultRet) continue;
      const list = byNr.get(nr) ?? [];
      list.push({ ret, args });
      byNr.set(nr, list);
    }
  }
  return { byNr, highest };
}

/** One architecture's section; A holds the syscall number on entry. */
function emitArch(asm: BpfAssembler, spec: SeccompSpec, arch: ArchName, defaultRet: number): void {
  const wide = arch !== 'SCMP_ARCH_X86';
  const { byNr, highest } = rulesByNumber(spec, TABLES[arch], defaultRet);

  if (highest >= 0 && defaultRet !== RET.ALLOW) {
    asm.jump(BPF.JGT_K, highest, 0, 1);
    asm.ret((RET.ERRNO | ENOSYS) >>> 0);
  }

  // Syscalls decided by number alone, grouped by action into short chains.
  const plain = new Map<number, number[]>();
  const conditional: Array<[number, Rule[]]> = [];
  for (const [nr, rules] of byNr) {
    if (rules.every((r) => r.args.length === 0)) {
      const ret = rules[rules.length - 1]!.ret; // the last unconditional rule wins
      plain.set(ret, [...(plain.get(ret) ?? []), nr]);
    } else {
      conditional.push([nr, rules]);
    }
  }
  const CHAIN = 200;
  for (const [ret, nrs] of plain) {
    for (let i = 0; i < nrs.length; i += CHAIN) {
      const chunk = nrs.slice(i, i + CHAIN);
      const hit = asm.newLabel('hit');
      const after = asm.newLabel('after');
      for (const nr of chunk) asm.jump(BPF.JEQ_K, nr, hit, 0);
      asm.goto(after);
      asm.label(hit);
      asm.ret(ret);
      asm.label(after);
    }
  }

  // Syscalls with argument rules: each rule in turn, then the fallback.
  for (const [nr, rules] of conditional) {
    const next = asm.newLabel('next');
    asm.jump(BPF.JEQ_K, nr, 1, 0);
    asm.goto(next);
    for (const rule of rules.filter((r) => r.args.length > 0)) {
      const fail = asm.newLabel('fail');
      for (const arg of rule.args) emitComparison(asm, arg, wide, fail);
      asm.ret(rule.ret);
      asm.label(fail);
    }
    const unconditional = rules.filter((r) => r.args.length === 0).pop();
    asm.ret(unconditional ? unconditional.ret : defaultRet);
    asm.label(next);
  }
  asm.ret(defaultRet);
}

export function compileSeccomp(spec: SeccompSpec): CompiledSeccomp {
  const defaultRet = actionValue(spec.defaultAction, spec.defaultErrnoRet);
  const wanted = new Set<ArchName>();
  for (const a of spec.architectures.length ? spec.architectures : ['SCMP_ARCH_X86_64']) {
    if (a in TABLES) wanted.add(a as ArchName);
    else if (!FOREIGN_ARCHES.has(a))
      throw invalidArgument(`seccomp: unknown architecture ${JSON.stringify(a)}`);
  }
  if (wanted.size === 0) throw invalidArgument('seccomp: the filter covers none of the x86 architectures');
  let flags = 0;
  for (const f of spec.flags ?? []) {
    const bit = FILTER_FLAGS[f];
    if (bit === undefined) throw invalidArgument(`seccomp: unsupported filter flag ${JSON.stringify(f)}`);
    flags |= bit;
  }

  const asm = new BpfAssembler();
  const x86_64 = asm.newLabel('x86_64');
  const x86 = asm.newLabel('x86');
  asm.load(SECCOMP_DATA.arch);
  if (wanted.has('SCMP_ARCH_X86_64') || wanted.has('SCMP_ARCH_X32')) {
    asm.jump(BPF.JEQ_K, AUDIT_ARCH_X86_64, 0, 1);
    asm.goto(x86_64);
  }
  if (wanted.has('SCMP_ARCH_X86')) {
    asm.jump(BPF.JEQ_K, AUDIT_ARCH_I386, 0, 1);
    asm.goto(x86);
  }
  asm.ret(RET.KILL_PROCESS); // an architecture the filter does not cover

  if (wanted.has('SCMP_ARCH_X86_64') || wanted.has('SCMP_ARCH_X32')) {
    const x32 = asm.newLabel('x32');
    asm.label(x86_64);
    asm.load(SECCOMP_DATA.nr);
    asm.jump(BPF.JGE_K, X32_SYSCALL_BIT, 0, 1);
    // One instruction either way: the jump above skips exactly it.
    if (wanted.has('SCMP_ARCH_X32')) asm.goto(x32);
    else asm.ret(RET.KILL_PROCESS);
    if (wanted.has('SCMP_ARCH_X86_64')) emitArch(asm, spec, 'SCMP_ARCH_X86_64', defaultRet);
    else asm.ret(RET.KILL_PROCESS);
    if (wanted.has('SCMP_ARCH_X32')) {
      asm.label(x32);
      emitArch(asm, spec, 'SCMP_ARCH_X32', defaultRet);
    }
  }
  if (wanted.has('SCMP_ARCH_X86')) {
    asm.label(x86);
    asm.load(SECCOMP_DATA.nr);
    emitArch(asm, spec, 'SCMP_ARCH_X86', defaultRet);
  }
  return { program: asm.assemble(), flags };
}

/** Programs compiled lately, by their spec as JSON, least recently used first. */
const compiledLately = new Map<string, CompiledSeccomp>();
const MAX_COMPILED_KEPT = 8;

/**
 * compileSeccomp, remembering the last few programs: nearly every container gets the same
 * profile, and compiling it is ~1.5 ms of each start while its JSON key costs ~0.05 ms. The
 * program returned is shared: it must not be modified.
 */
export function compileSeccompCached(spec: SeccompSpec): CompiledSeccomp {
  const key = JSON.stringify(spec);
  const kept = compiledLately.get(key);
  compiledLately.delete(key);
  const compiled = kept ?? compileSeccomp(spec);
  compiledLately.set(key, compiled);
  if (compiledLately.size > MAX_COMPILED_KEPT)
    compiledLately.delete(compiledLately.keys().next().value as string);
  return compiled;
}
