/**
 * A small classic-BPF assembler for seccomp filters: instructions with label targets, resolved
 * into `struct sock_filter` records (u16 code, u8 jt, u8 jf, u32 k; host byte order, which is
 * little-endian on every architecture we build filters for).
 */

export const BPF = {
  LD_W_ABS: 0x20, // A = *(u32 *)(seccomp_data + k)
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JA: 0x05,
  AND_K: 0x54, // A &= k
  RET_K: 0x06,
} as const;

/** Offsets into `struct seccomp_data`. */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  /** Low and high 32-bit halves of argument `i` (little-endian). */
  argLo: (i: number) => 16 + 8 * i,
  argHi: (i: number) => 16 + 8 * i + 4,
} as const;

/** The kernel's limit on one filter (BPF_MAXINSNS). */
export const BPF_MAX_INSNS = 4096;

/** A jump target: a label, or a plain number of instructions to skip. */
export type Target = string | number;

interface Insn {
  code: number;
  jt: Target;
  jf: Target;
  k: number;
  /** For JA: the label jumped to (its offset goes in k). */
  target?: string;
}

export class BpfAssembler {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private next = 0;

  /** A fresh label name. */
  newLabel(hint: string): string {
    return `${hint}#${this.next++}`;
  }

  /** Places `name` at the next instruction. */
  label(name: string): void {
    if (this.labels.has(name)) throw new Error(`bpf: label ${name} placed twice`);
    this.labels.set(name, this.insns.length);
  }

  load(offset: number): void {
    this.insns.push({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: offset });
  }

  and(k: number): void {
    this.insns.push({ code: BPF.AND_K, jt: 0, jf: 0, k: k >>> 0 });
  }

  ret(k: number): void {
    this.insns.push({ code: BPF.RET_K, jt: 0, jf: 0, k: k >>> 0 });
  }

  /** Conditional jump on A compared with k; targets must be within 255 instructions ahead. */
  jump(code: number, k: number, jt: Target, jf: Target): void {
    this.insns.push({ code, jt, jf, k: k >>> 0 });
  }

  /** Unconditional jump (32-bit offset). */
  goto(target: string): void {
    this.insns.push({ code: BPF.JA, jt: 0, jf: 0, k: 0, target });
  }

  get length(): number {
    return this.insns.length;
  }

  /** Resolves labels and encodes the program. */
  assemble(): Buffer {
    if (this.insns.length > BPF_MAX_INSNS)
      throw new Error(
        `seccomp filter is too large: ${this.insns.length} instructions (the kernel allows ${BPF_MAX_INSNS})`,
      );
    const buf = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, i) => {
      const offset = (t: Target): number => {
        if (typeof t === 'number') return t;
        const at = this.labels.get(t);
        if (at === undefined) throw new Error(`bpf: label ${t} was never placed`);
        const d = at - (i + 1);
        if (d < 0) throw new Error(`bpf: backward jump to ${t}`);
        return d;
      };
      const k = insn.target !== undefined ? offset(insn.target) : insn.k;
      const t = offset(insn.jt);
      const f = offset(insn.jf);
      if (t > 255 || f > 255) throw new Error(`bpf: conditional jump at ${i} is too far (${t}/${f})`);
      buf.writeUInt16LE(insn.code, i * 8);
      buf.writeUInt8(t, i * 8 + 2);
      buf.writeUInt8(f, i * 8 + 3);
      buf.writeUInt32LE(k >>> 0, i * 8 + 4);
    });
    return buf;
  }
}
