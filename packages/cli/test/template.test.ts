import { describe, expect, it } from 'vitest';
import { compileTemplate, formatValue } from '../src/format/template.js';

const container = {
  Id: 'e2e6e1570368aa6c',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 4242, ExitCode: 0 },
  Config: { Image: 'busybox', Env: ['PATH=/bin', 'A=1'], Labels: { 'com.example': 'x' }, Cmd: null },
};

const render = (template: string, data: unknown = container) => compileTemplate(template).render(data);

describe('inspect templates', () => {
  it('evaluates field paths', () => {
    expect(render('{{.State.Status}}')).toBe('running');
    expect(render('{{.Id}} {{.Name}} pid={{.State.Pid}} running={{.State.Running}}')).toBe(
      'e2e6e1570368aa6c /web pid=4242 running=true',
    );
    expect(render('{{.Config.Cmd}}|{{.Config.Missing}}')).toBe('<nil>|<no value>');
  });

  it('supports json, index, join, pipelines and trimming', () => {
    expect(render('{{json .Config}}')).toBe(JSON.stringify(container.Config));
    expect(render('{{json .State.Status}}')).toBe('"running"');
    expect(render('{{index .Config.Labels "com.example"}}')).toBe('x');
    expect(render('{{index .Config.Env 1}}')).toBe('A=1');
    expect(render('{{join .Config.Env ","}}')).toBe('PATH=/bin,A=1');
    expect(render('{{.Config.Env | json}}')).toBe('["PATH=/bin","A=1"]');
    expect(render('{{.Name | upper}}')).toBe('/WEB');
    expect(render('a {{- .Config.Image -}} b')).toBe('abusyboxb');
  });

  it("prints maps and lists in Go's %v form", () => {
    expect(formatValue({ b: 2, a: [1, 'x'] })).toBe('map[a:[1 x] b:2]');
    expect(render('{{.Config.Env}}')).toBe('[PATH=/bin A=1]');
  });

  it('refuses what it does not support, clearly', () => {
    expect(() => compileTemplate('{{range .Config.Env}}{{.}}{{end}}')).toThrow(
      '"{{range}}" actions are not supported',
    );
    expect(() => compileTemplate('{{nosuch .Id}}')).not.toThrow();
    expect(() => render('{{nosuch .Id}}')).toThrow('function "nosuch" not defined');
    expect(() => compileTemplate('{{.Id')).toThrow('unclosed action');
  });
});
