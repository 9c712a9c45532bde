/**
 * Runs a classic-BPF seccomp program on a `seccomp_data` the way the kernel does, so filter
 * compilation can be checked syscall by syscall without installing anything.
 */
const AUDIT_ARCH = { x86_64: 0xc000003e, x32: 0xc000003e, x86: 0x40000003 } as const;
const X32_BIT = 0x40000000;

export type Abi = keyof typeof AUDIT_ARCH;

/** Args are 64-bit values (bigint or number); x32 numbers get the x32 bit added here. */
export function runFilter(
  program: Buffer,
  abi: Abi,
  nr: number,
  args: Array<number | bigint> = [],
  auditArch: number = AUDIT_ARCH[abi],
): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(abi === 'x32' ? nr | X32_BIT : nr, 0);
  data.writeUInt32LE(auditArch, 4);
  for (const [i, a] of args.entries()) data.writeBigUInt64LE(BigInt(a), 16 + 8 * i);
  let A = 0;
  let pc = 0;
  const n = program.length / 8;
  for (let steps = 0; steps < 100_000; steps++) {
    if (pc < 0 || pc >= n) throw new Error(`pc ${pc} out of the program (${n} instructions)`);
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x20: // ld [k]
        if (k % 4 !== 0 || k > 60) throw new Error(`bad load offset ${k}`);
        A = data.readUInt32LE(k);
        break;
      case 0x54: // and #k
        A = (A & k) >>> 0;
        break;
      case 0x15: // jeq
        pc += A === k ? jt : jf;
        break;
      case 0x25: // jgt
        pc += A > k ? jt : jf;
        break;
      case 0x35: // jge
        pc += A >= k ? jt : jf;
        break;
      case 0x05: // ja
        pc += k;
        break;
      case 0x06: // ret #k
        return k;
      default:
        throw new Error(`unknown BPF opcode 0x${code.toString(16)} at ${pc - 1}`);
    }
  }
  throw new Error('filter did not return');
}

export const SECCOMP_RET = {
  ALLOW: 0x7fff0000,
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0,
  errno: (e: number) => (0x00050000 | e) >>> 0,
};
