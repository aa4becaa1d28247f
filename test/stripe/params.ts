// Reading typed values out of decoded form params, failing the way Stripe does (400 naming the param).
import { invalidParam, missingParam } from './errors.ts';
import type { FormParams, FormValue } from './form.ts';

export function readString(params: FormParams, name: string): string | undefined;
export function readString(params: FormParams, name: string, required: 'required'): string;
export function readString(params: FormParams, name: string, required?: 'required'): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') {
    if (required) throw missingParam(name);
    return undefined;
  }
  if (typeof value !== 'string') throw invalidParam(name, `Invalid string: ${name} must be a string.`);
  return value;
}

export function readInteger(params: FormParams, name: string): number | undefined;
export function readInteger(params: FormParams, name: string, required: 'required'): number;
export function readInteger(params: FormParams, name: string, required?: 'required'): number | undefined {
  const text = required ? readString(params, name, required) : readString(params, name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw invalidParam(name, `Invalid integer: ${text}`, 'parameter_invalid_integer');
  return Number(text);
}

export function readBoolean(params: FormParams, name: string): boolean | undefined {
  const text = readString(params, name);
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw invalidParam(name, `Invalid boolean: ${text}`);
  return text === 'true';
}

export function readEnum<T extends string>(params: FormParams, name: string, allowed: readonly T[]): T | undefined {
  const text = readString(params, name);
  if (text === undefined) return undefined;
  if (!allowed.includes(text as T)) throw invalidParam(name, `Invalid ${name}: must be one of ${allowed.join(', ')}`);
  return text as T;
}

export function readObject(params: FormParams, name: string): FormParams | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidParam(name, `Invalid object: ${name} must be a hash.`);
  return value;
}

export function readStringArray(params: FormParams, name: string): string[] | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw invalidParam(name, `Invalid array: ${name} must be an array of strings.`);
  return value as string[];
}

/** Objects in an array param (`line_items[0][amount]=...`). */
export function readObjectArray(params: FormParams, name: string): FormParams[] | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'object' || Array.isArray(item)))
    throw invalidParam(name, `Invalid array: ${name} must be an array of hashes.`);
  return value as FormParams[];
}

/**
 * Metadata merged Stripe's way: each key set, an empty value unsets its key, an empty `metadata` unsets all.
 * Stripe's limits: 50 keys, keys up to 40 characters, values up to 500.
 */
export function mergeMetadata(current: Record<string, string>, params: FormParams): Record<string, string> {
  const value: FormValue | undefined = params.metadata;
  if (value === undefined) return current;
  if (value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidParam('metadata', 'Invalid object: metadata must be a hash.');
  const merged = { ...current };
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string')
      throw invalidParam(`metadata[${key}]`, 'Invalid string: metadata values must be strings.');
    if (key.length > 40) throw invalidParam(`metadata[${key}]`, 'Metadata keys can have up to 40 characters.');
    if (item.length > 500) throw invalidParam(`metadata[${key}]`, 'Metadata values can have up to 500 characters.');
    if (item === '') delete merged[key];
    else merged[key] = item;
  }
  if (Object.keys(merged).length > 50) throw invalidParam('metadata', 'Metadata can have up to 50 keys.');
  return merged;
}
