/**
 * The README's `--json` tables against the schemas the apps print with (S6): every event the
 * README lists exists with exactly the fields it lists, and every event of the schemas is
 * documented. The e2e tests check the real programs' output against the same schemas.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHAT_JSON_EVENTS, jsonEventProblem, RECEIVER_JSON_EVENTS, SENDER_JSON_EVENTS } from '../src/json-events.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The table of `--json` events that follows `heading` (a line starting with it) in the README. */
function documented(heading: string): Map<string, string[]> {
  const section = readme.slice(readme.indexOf('### `--json` events'));
  const start = section.split('\n').findIndex((line) => line.startsWith(heading));
  expect(start, `the README has no paragraph starting ${heading}`).toBeGreaterThanOrEqual(0);
  const lines = section.split('\n').slice(start);
  const table = lines.slice(lines.findIndex((line) => line.startsWith('| event')) + 2);
  const events = new Map<string, string[]>();
  for (const row of table) {
    if (!row.startsWith('|')) break;
    const [, name, fields] = /^\| (.*?) \| (.*) \|$/.exec(row) ?? [];
    const event = /`([^`]+)`/.exec(name ?? '')?.[1];
    if (!event || fields === undefined) throw new Error(`cannot read the README row ${row}`);
    // Fields are the backquoted words outside parentheses; inside them are values and sub-fields.
    let top = fields;
    for (let previous = ''; previous !== top; ) {
      previous = top;
      top = top.replace(/\([^()]*\)/g, '');
    }
    events.set(event, [...top.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
  }
  return events;
}

function declared(events: Readonly<Record<string, { shape: Record<string, unknown> }>>): Map<string, string[]> {
  return new Map(Object.entries(events).map(([name, schema]) => [name, Object.keys(schema.shape)]));
}

describe('the README documents the --json events exactly as the apps print them', () => {
  it.each([
    ['ferry-send', '`ferry-send` prints', SENDER_JSON_EVENTS],
    ['ferry-receive', '`ferry-receive` prints', RECEIVER_JSON_EVENTS],
    ['a conversation', '`ferry-send --chat` and `ferry-receive --chat` print', CHAT_JSON_EVENTS],
  ] as const)('S6: %s: the same events, each with the same fields', (_, heading, events) => {
    const readmeEvents = documented(heading);
    const schemaEvents = declared(events);
    expect([...readmeEvents.keys()].sort()).toEqual([...schemaEvents.keys()].sort());
    for (const [event, fields] of schemaEvents) expect(readmeEvents.get(event)?.sort(), event).toEqual([...fields].sort());
  });

  it('S6: one field name, one type: counts are numbers in every event, `out` is the folder', () => {
    const types = new Map<string, Set<string>>();
    for (const events of [SENDER_JSON_EVENTS, RECEIVER_JSON_EVENTS, CHAT_JSON_EVENTS]) {
      for (const schema of Object.values(events)) {
        for (const [field, type] of Object.entries(schema.shape as Record<string, { def: { type: string; innerType?: { def: { type: string } } } }>)) {
          const base = type.def.innerType?.def.type ?? type.def.type;
          types.set(field, (types.get(field) ?? new Set()).add(base));
        }
      }
    }
    for (const field of ['files', 'failed', 'bytes', 'client']) expect([...(types.get(field) ?? [])], field).toEqual(['number']);
    expect(types.has('outDir')).toBe(false);
  });

  it('S6: jsonEventProblem refuses an undocumented event, a missing field and an extra one', () => {
    expect(jsonEventProblem(RECEIVER_JSON_EVENTS, '{"event":"progress","bytes":5}')).toBeUndefined();
    expect(jsonEventProblem(RECEIVER_JSON_EVENTS, '{"event":"cancelled"}')).toContain('undocumented');
    expect(jsonEventProblem(RECEIVER_JSON_EVENTS, '{"event":"start","outDir":"/x","files":1,"bytes":1}')).toBeDefined();
    expect(jsonEventProblem(SENDER_JSON_EVENTS, '{"event":"pairing-failed","failed":1,"limit":3}')).toBeDefined();
  });
});
