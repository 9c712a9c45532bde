import { describe, expect, it } from 'vitest';
import { formatImageTable, imageRows } from '../src/commands/images.js';
import { formatContainerTable } from '../src/commands/ps.js';
import { displayablePorts } from '../src/format/ports.js';
import { formatGoG, humanSize, humanSizeWithPrecision } from '../src/format/size.js';
import { renderTable } from '../src/format/table.js';
import { displayWidth, ellipsis, goQuote } from '../src/format/text.js';
import { humanDuration, timeAgo } from '../src/format/time.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

describe('humanDuration (go-units HumanDuration test table)', () => {
  it.each([
    [450, 'Less than a second'],
    [1 * SECOND, '1 second'],
    [45 * SECOND, '45 seconds'],
    [59 * SECOND, '59 seconds'],
    [60 * SECOND, 'About a minute'],
    [3 * MINUTE, '3 minutes'],
    [35 * MINUTE + 40 * SECOND, '35 minutes'],
    [59 * MINUTE, '59 minutes'],
    [1 * HOUR, 'About an hour'],
    [1 * HOUR + 29 * MINUTE, 'About an hour'],
    [1 * HOUR + 31 * MINUTE, '2 hours'],
    [3 * HOUR + 29 * MINUTE, '3 hours'],
    [3 * HOUR + 31 * MINUTE, '4 hours'],
    [24 * HOUR, '24 hours'],
    [DAY + 12 * HOUR, '36 hours'],
    [2 * DAY, '2 days'],
    [13 * DAY + 5 * HOUR, '13 days'],
    [2 * WEEK, '2 weeks'],
    [2 * WEEK + 4 * DAY, '2 weeks'],
    [4 * WEEK + 3 * DAY, '4 weeks'],
    [MONTH, '4 weeks'],
    [MONTH + 2 * WEEK, '6 weeks'],
    [2 * MONTH, '2 months'],
    [5 * MONTH + 2 * WEEK, '5 months'],
    [24 * MONTH, '24 months'],
    [24 * MONTH + 2 * WEEK, '2 years'],
    [3 * YEAR + 2 * MONTH, '3 years'],
  ])('%d ms → %s', (ms, expected) => {
    expect(humanDuration(ms)).toBe(expected);
  });

  it('says "ago" relative to a given now, and treats clock skew as just now', () => {
    const now = 1_700_000_000_000;
    expect(timeAgo(now / 1000 - 120, now)).toBe('2 minutes ago');
    expect(timeAgo(now / 1000 + 30, now)).toBe('Less than a second ago');
  });
});

describe('sizes (go-units HumanSizeWithPrecision)', () => {
  it.each([
    [0, '0B'],
    [999, '999B'],
    [1000, '1kB'],
    [1024, '1.02kB'],
    [2_142_720, '2.14MB'],
    [4_860_000, '4.86MB'],
    [77_800_000, '77.8MB'],
    [133_000_000, '133MB'],
    [999_999, '1e+03kB'],
    [1_500_000_000, '1.5GB'],
    [2_125_000, '2.12MB'],
  ])('humanSize(%d) = %s', (bytes, expected) => {
    expect(humanSize(bytes)).toBe(expected);
  });

  it('matches go-units HumanSize (precision 4) examples', () => {
    expect(humanSizeWithPrecision(1000, 4)).toBe('1kB');
    expect(humanSizeWithPrecision(1024, 4)).toBe('1.024kB');
    expect(humanSizeWithPrecision(1_048_576, 4)).toBe('1.049MB');
    expect(humanSizeWithPrecision(3.42e9, 4)).toBe('3.42GB');
    expect(humanSizeWithPrecision(5.372e12, 4)).toBe('5.372TB');
    expect(humanSizeWithPrecision(1e28, 4)).toBe('1e+04YB');
  });

  it("formats like Go's %g", () => {
    expect(formatGoG(0.00001234, 3)).toBe('1.23e-05');
    expect(formatGoG(0.5, 3)).toBe('0.5');
    expect(formatGoG(100, 3)).toBe('100');
    expect(formatGoG(1234.5, 3)).toBe('1.23e+03');
    expect(formatGoG(-2.5, 3)).toBe('-2.5');
  });
});

describe('text helpers', () => {
  it('quotes like strconv.Quote', () => {
    expect(goQuote('sleep 1000')).toBe('"sleep 1000"');
    expect(goQuote('sh -c "echo hi"\n')).toBe('"sh -c \\"echo hi\\"\\n"');
    expect(goQuote('tab\there\x01')).toBe('"tab\\there\\x01"');
    expect(goQuote('héllo…')).toBe('"héllo…"');
    expect(goQuote('\u00a0')).toBe('"\\u00a0"');
  });

  it('cuts with an ellipsis at the display width', () => {
    expect(ellipsis('sleep 1000', 20)).toBe('sleep 1000');
    expect(ellipsis('sh -c while true; do sleep 1; done', 20)).toBe('sh -c while true; d…');
    expect(ellipsis('日本語のコマンドです', 7)).toBe('日本語…');
    expect(displayWidth('日本')).toBe(4);
  });
});

describe('renderTable (tabwriter 10/1/3)', () => {
  it('pads every column but the last to the widest cell + 3, at least 10', () => {
    expect(renderTable([['CONTAINER ID', 'IMAGE', 'NAMES']])).toBe('CONTAINER ID   IMAGE     NAMES\n');
    expect(
      renderTable([
        ['A', 'BB', 'C'],
        ['a-much-longer-cell', '', 'c'],
      ]),
    ).toBe(`${'A'.padEnd(21)}${'BB'.padEnd(10)}C\n${'a-much-longer-cell'.padEnd(21)}${''.padEnd(10)}c\n`);
  });
});

describe('ports column', () => {
  it('collapses ranges and lists host mappings last', () => {
    expect(
      displayablePorts([
        { PrivatePort: 9988, Type: 'tcp' },
        { PrivatePort: 9989, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 9090, PublicPort: 80, Type: 'tcp' },
        { PrivatePort: 53, Type: 'udp' },
      ]),
    ).toBe('53/udp, 9988-9989/tcp, 0.0.0.0:80->9090/tcp');
    expect(displayablePorts([{ IP: '::', PrivatePort: 80, PublicPort: 80, Type: 'tcp' }])).toBe(
      '[::]:80->80/tcp',
    );
    expect(displayablePorts(null)).toBe('');
  });
});

describe('ps table', () => {
  const now = Date.UTC(2024, 0, 2, 12, 0, 0);
  const created = now / 1000 - 5 * 60;

  it('prints only the header when there are no containers', () => {
    expect(formatContainerTable([], { trunc: true, size: false, now })).toBe(
      'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n',
    );
  });

  it("renders docker's columns", () => {
    const table = formatContainerTable(
      [
        {
          Id: 'e2e6e1570368aa6c8d3e4e5b9d0f2b71f6a8c3d2e1f0a9b8c7d6e5f4a3b2c1d0',
          Names: ['/web'],
          Image: 'busybox',
          ImageID: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
          Command: 'sh -c while true; do sleep 1; done',
          Created: created,
          Status: 'Up 5 minutes',
          Ports: [],
        },
        {
          Id: 'ffe6e1570368aa6c8d3e4e5b9d0f2b71f6a8c3d2e1f0a9b8c7d6e5f4a3b2c1d0',
          Names: ['/quirky_turing'],
          Image: 'docker.io/library/alpine:3.19',
          Command: 'echo hi',
          Created: created,
          Status: 'Exited (0) 4 minutes ago',
        },
      ],
      { trunc: true, size: false, now },
    );
    expect(table).toBe(
      [
        'CONTAINER ID   IMAGE         COMMAND                  CREATED         STATUS                     PORTS     NAMES',
        'e2e6e1570368   busybox       "sh -c while true; d…"   5 minutes ago   Up 5 minutes                         web',
        'ffe6e1570368   alpine:3.19   "echo hi"                5 minutes ago   Exited (0) 4 minutes ago             quirky_turing',
        '',
      ].join('\n'),
    );
  });
});

describe('images table', () => {
  const now = Date.UTC(2024, 0, 2, 12, 0, 0);

  it('one row per tag, dangling images as <none>', () => {
    const images = [
      {
        Id: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
        RepoTags: ['busybox:latest', 'myrepo/bb:v1'],
        Created: now / 1000 - 3 * 7 * 86400,
        Size: 4_261_550,
      },
      {
        Id: 'sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789',
        RepoTags: [],
        Created: now / 1000 - 7200,
        Size: 999,
      },
    ];
    expect(imageRows(images).map((r) => `${r.repository}:${r.tag}`)).toEqual([
      'busybox:latest',
      'myrepo/bb:v1',
      '<none>:<none>',
    ]);
    expect(formatImageTable(images, { trunc: true, now })).toBe(
      [
        'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE',
        'busybox      latest    3f57d9401f8d   3 weeks ago   4.26MB',
        'myrepo/bb    v1        3f57d9401f8d   3 weeks ago   4.26MB',
        '<none>       <none>    abcdef012345   2 hours ago   999B',
        '',
      ].join('\n'),
    );
  });
});
