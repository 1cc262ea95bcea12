import type { z } from 'zod';

/**
 * What one position of a JSON message may hold, derived from its zod schema: the structure
 * that `scanJson` checks on the text before any value is built.
 */
export interface Shape {
  /** An object, with the shape of each field it may have. */
  object?: Map<string, Shape>;
  /** An array of at most `max` items of one shape. */
  array?: { item: Shape; max: number };
  string?: true;
  integer?: true;
  boolean?: true;
}

// The zod 4 definition of a schema, as far as message schemas use it.
interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  values?: unknown[];
  checks?: { _zod: { def: { check: string; maximum?: number } } }[];
  in?: { _zod: { def: Def } };
}

/** Derives the shape of a message schema (objects, arrays, strings, integers, booleans). */
export function shapeOf(schema: z.ZodType): Shape {
  return shapeOfDef((schema as unknown as { _zod: { def: Def } })._zod.def);
}

function shapeOfDef(def: Def): Shape {
  switch (def.type) {
    case 'object': {
      const fields = new Map<string, Shape>();
      for (const [key, field] of Object.entries(def.shape ?? {}))
        fields.set(key, shapeOfDef(field._zod.def));
      return { object: fields };
    }
    case 'array': {
      const max = def.checks?.find((check) => check._zod.def.check === 'max_length')?._zod.def
        .maximum;
      if (max === undefined) throw new Error('a message array needs a maximum length');
      return { array: { item: shapeOfDef(def.element!._zod.def), max } };
    }
    case 'union':
      return (def.options ?? [])
        .map((option) => shapeOfDef(option._zod.def))
        .reduce(mergeShapes, {});
    case 'string':
      return { string: true };
    case 'number':
      return { integer: true };
    case 'boolean':
      return { boolean: true };
    case 'literal':
      return (def.values ?? []).map(shapeOfValue).reduce(mergeShapes, {});
    case 'pipe':
      return shapeOfDef(def.in!._zod.def);
    default:
      throw new Error(`no JSON shape for a zod ${def.type}`);
  }
}

function shapeOfValue(value: unknown): Shape {
  if (typeof value === 'string') return { string: true };
  if (typeof value === 'boolean') return { boolean: true };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { integer: true };
  throw new Error(`no JSON shape for the literal ${String(value)}`);
}

/** The positions either shape allows (a union's options, merged field by field). */
function mergeShapes(a: Shape, b: Shape): Shape {
  const merged: Shape = { ...a, ...b };
  if (a.object && b.object) {
    const fields = new Map(a.object);
    for (const [key, shape] of b.object)
      fields.set(key, fields.has(key) ? mergeShapes(fields.get(key)!, shape) : shape);
    merged.object = fields;
  }
  if (a.array && b.array) {
    merged.array = {
      item: mergeShapes(a.array.item, b.array.item),
      max: Math.max(a.array.max, b.array.max),
    };
  }
  return merged;
}
