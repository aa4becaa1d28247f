// The no-code editor of one book version: rate cards (match, dimensions, charges with their price model and
// tiers), time-of-use windows, modifiers (windows and service tiers), allowances. Every input owns one path of
// the draft, and the compiler's messages for that path show under it.
import { createContext, useContext, type ReactNode } from 'react';
import type { BookVersion } from './kernel.ts';
import { getAt, pathKey, setAt, type Path } from './paths.ts';

interface EditorContext {
  draft: BookVersion;
  change(path: Path, value: unknown): void;
  problems: Map<string, string[]>;
}

const Context = createContext<EditorContext | null>(null);
const useEditor = () => useContext(Context)!;

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const models = ['per_unit', 'package', 'graduated', 'volume', 'request_tiers', 'flat', 'dynamic'] as const;
const tiers = ['standard', 'batch', 'flex', 'priority'] as const;

const idOf = (path: Path) => `draft-${pathKey(path).replace(/[^\w-]/g, '-')}`;

function Messages({ path }: { path: Path }) {
  const messages = useEditor().problems.get(pathKey(path));
  if (!messages) return null;
  return (
    <small className="field-error" id={`${idOf(path)}-error`} data-problem-path={pathKey(path)}>
      {messages.join('; ')}
    </small>
  );
}

export function Field({
  path,
  label,
  placeholder,
  wide,
}: {
  path: Path;
  label: string;
  placeholder?: string;
  wide?: boolean;
}) {
  const { draft, change, problems } = useEditor();
  const value = getAt(draft, path);
  const id = idOf(path);
  const bad = problems.has(pathKey(path));
  return (
    <div className="field" style={wide ? { gridColumn: 'span 2' } : undefined}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        data-path={pathKey(path)}
        value={value === undefined || value === null ? '' : String(value)}
        placeholder={placeholder}
        aria-invalid={bad || undefined}
        aria-describedby={bad ? `${id}-error` : undefined}
        onChange={(event) => change(path, event.target.value === '' ? undefined : event.target.value)}
      />
      <Messages path={path} />
    </div>
  );
}

function Remove({ path, what }: { path: Path; what: string }) {
  const { change } = useEditor();
  return (
    <button type="button" className="secondary" onClick={() => change(path, undefined)}>
      Remove {what}
    </button>
  );
}

function Group({
  title,
  path,
  children,
  actions,
}: {
  title: string;
  path: Path;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <fieldset className="card" data-group={pathKey(path)}>
      <legend>{title}</legend>
      <Messages path={path} />
      {children}
      {actions ? <div className="toolbar">{actions}</div> : null}
    </fieldset>
  );
}

export function VersionEditor({
  draft,
  onChange,
  problems,
}: {
  draft: BookVersion;
  onChange(draft: BookVersion): void;
  problems: Map<string, string[]>;
}) {
  const change = (path: Path, value: unknown) => onChange(setAt(draft, path, value));
  return (
    <Context.Provider value={{ draft, change, problems }}>
      <div className="editor">
        <div className="editor-row">
          <Field
            path={['effective_from']}
            label="Effective from (UTC instant)"
            placeholder="2027-01-01T00:00:00Z"
            wide
          />
        </div>
        <h3>Rate cards</h3>
        {draft.rate_cards.map((_, index) => (
          <CardEditor key={index} index={index} />
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() =>
            change(['rate_cards', draft.rate_cards.length], {
              id: `card-${draft.rate_cards.length + 1}`,
              match: { model: '' },
              charges: [{ dimension: 'input_tokens', price: { model: 'per_unit', rate: '1' } }],
            })
          }
        >
          Add a rate card
        </button>
        <WindowsEditor />
        <ModifiersEditor />
        <AllowancesEditor />
      </div>
    </Context.Provider>
  );
}

function CardEditor({ index }: { index: number }) {
  const { draft, change } = useEditor();
  const card = draft.rate_cards[index];
  const base: Path = ['rate_cards', index];
  const renameKey = (object: Record<string, unknown>, from: string, to: string) =>
    Object.fromEntries(Object.entries(object).map(([key, value]) => [key === from ? to : key, value]));
  return (
    <Group title={`Card ${card.id}`} path={base} actions={<Remove path={base} what={`card ${card.id}`} />}>
      <div className="editor-row">
        <Field path={[...base, 'id']} label="Card id" />
      </div>
      <p className="inline-label">Matches events where</p>
      {Object.entries(card.match).map(([property, rule], ruleIndex) => (
        <div className="editor-row" key={ruleIndex}>
          <div className="field">
            <label htmlFor={`${idOf(base)}-match-${ruleIndex}`}>Property</label>
            <input
              id={`${idOf(base)}-match-${ruleIndex}`}
              value={property}
              onChange={(event) => change([...base, 'match'], renameKey(card.match, property, event.target.value))}
            />
          </div>
          {typeof rule === 'string' ? (
            <Field path={[...base, 'match', property]} label={`${property} equals`} />
          ) : (
            <p className="muted">rule {JSON.stringify(rule)}</p>
          )}
          <Remove path={[...base, 'match', property]} what={`match on ${property}`} />
        </div>
      ))}
      <Messages path={[...base, 'match']} />
      <button
        type="button"
        className="secondary"
        onClick={() => change([...base, 'match', `property_${Object.keys(card.match).length + 1}`], '')}
      >
        Add a match
      </button>
      {card.dimensions
        ? Object.entries(card.dimensions).map(([name, dimension]) => (
            <div className="editor-row" key={name}>
              <span className="inline-label">Dimension {name}</span>
              {'gpu_time' in dimension ? (
                <>
                  <Field path={[...base, 'dimensions', name, 'gpu_time', 'minimum_seconds']} label="Minimum seconds" />
                  <Field
                    path={[...base, 'dimensions', name, 'gpu_time', 'increment_seconds']}
                    label="Rounding increment (s)"
                  />
                </>
              ) : (
                <code>{JSON.stringify(dimension)}</code>
              )}
            </div>
          ))
        : null}
      <p className="inline-label">Charges</p>
      {card.charges.map((_, chargeIndex) => (
        <ChargeEditor key={chargeIndex} path={[...base, 'charges', chargeIndex]} />
      ))}
      <Messages path={[...base, 'charges']} />
      <button
        type="button"
        className="secondary"
        onClick={() =>
          change([...base, 'charges', card.charges.length], {
            dimension: 'output_tokens',
            price: { model: 'per_unit', rate: '1' },
          })
        }
      >
        Add a charge
      </button>
    </Group>
  );
}

const priceTemplates: Record<(typeof models)[number], object> = {
  per_unit: { model: 'per_unit', rate: '1' },
  package: { model: 'package', size: '1000', amount: '1' },
  graduated: { model: 'graduated', tiers: [{ up_to: '1000000', rate: '2' }, { rate: '1' }] },
  volume: { model: 'volume', tiers: [{ up_to: '1000000', rate: '2' }, { rate: '1' }] },
  request_tiers: { model: 'request_tiers', basis: 'input_tokens', rate: '1', tiers: [{ above: '200000', rate: '2' }] },
  flat: { model: 'flat', amount: '0.01' },
  dynamic: { model: 'dynamic', amount_property: 'amount', markup_percent: '10' },
};

function ChargeEditor({ path }: { path: Path }) {
  const { draft, change } = useEditor();
  const charge = getAt(draft, path) as {
    dimension?: string;
    price: { model: (typeof models)[number]; tiers?: unknown[] };
  };
  const price = [...path, 'price'];
  const model = charge.price.model;
  const selectId = `${idOf(path)}-model`;
  return (
    <div className="editor-row" data-charge={pathKey(path)}>
      {model !== 'flat' && model !== 'dynamic' ? (
        <Field path={[...path, 'dimension']} label="Dimension (property)" />
      ) : null}
      <div className="field">
        <label htmlFor={selectId}>Price model</label>
        <select
          id={selectId}
          value={model}
          onChange={(event) => change(price, priceTemplates[event.target.value as (typeof models)[number]])}
        >
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <Messages path={[...price, 'model']} />
      </div>
      {model === 'per_unit' || model === 'request_tiers' ? <Field path={[...price, 'rate']} label="Rate" /> : null}
      {model === 'per_unit' || model === 'graduated' || model === 'volume' || model === 'request_tiers' ? (
        <Field path={[...price, 'per']} label="Per units" placeholder="1000000" />
      ) : null}
      {model === 'package' ? (
        <>
          <Field path={[...price, 'size']} label="Package size" />
          <Field path={[...price, 'amount']} label="Package amount" />
        </>
      ) : null}
      {model === 'flat' ? <Field path={[...price, 'amount']} label="Amount per event" /> : null}
      {model === 'dynamic' ? (
        <>
          <Field path={[...price, 'amount_property']} label="Amount property" />
          <Field path={[...price, 'markup_percent']} label="Markup %" />
        </>
      ) : null}
      {model === 'request_tiers' ? <Field path={[...price, 'basis']} label="Basis property" /> : null}
      {model === 'graduated' || model === 'volume' || model === 'request_tiers'
        ? (charge.price.tiers ?? []).map((_, tierIndex) => (
            <div key={tierIndex} className="editor-row" style={{ gridColumn: '1 / -1' }}>
              <span className="inline-label">Tier {tierIndex + 1}</span>
              {model === 'request_tiers' ? (
                <Field path={[...price, 'tiers', tierIndex, 'above']} label="Above" />
              ) : (
                <Field path={[...price, 'tiers', tierIndex, 'up_to']} label="Up to (blank: no limit)" />
              )}
              <Field path={[...price, 'tiers', tierIndex, 'rate']} label="Tier rate" />
              <Remove path={[...price, 'tiers', tierIndex]} what={`tier ${tierIndex + 1}`} />
            </div>
          ))
        : null}
      {model === 'graduated' || model === 'volume' || model === 'request_tiers' ? (
        <button
          type="button"
          className="secondary"
          onClick={() =>
            change(
              [...price, 'tiers', charge.price.tiers?.length ?? 0],
              model === 'request_tiers' ? { above: '0', rate: '1' } : { rate: '1' },
            )
          }
        >
          Add a tier
        </button>
      ) : null}
      <Messages path={[...price, 'tiers']} />
      <Remove path={path} what="charge" />
    </div>
  );
}

function WindowsEditor() {
  const { draft, change } = useEditor();
  const windows = draft.windows ?? {};
  return (
    <>
      <h3>Time-of-use windows</h3>
      {Object.entries(windows).map(([name, window]) => {
        const base: Path = ['windows', name];
        return (
          <Group
            key={name}
            title={`Window ${name}`}
            path={base}
            actions={<Remove path={base} what={`window ${name}`} />}
          >
            <div className="editor-row">
              <Field path={[...base, 'time_zone']} label="Time zone (IANA)" />
              <Field path={[...base, 'start']} label="Start (HH:MM)" />
              <Field path={[...base, 'end']} label="End (HH:MM)" />
            </div>
            <fieldset className="days">
              <legend>Days (none: every day)</legend>
              {weekdays.map((day) => (
                <label key={day} className="day">
                  <input
                    type="checkbox"
                    checked={window.days?.includes(day) ?? false}
                    onChange={(event) => {
                      const days = new Set(window.days ?? []);
                      if (event.target.checked) days.add(day);
                      else days.delete(day);
                      change([...base, 'days'], days.size ? weekdays.filter((d) => days.has(d)) : undefined);
                    }}
                  />{' '}
                  {day}
                </label>
              ))}
              <Messages path={[...base, 'days']} />
            </fieldset>
          </Group>
        );
      })}
      <button
        type="button"
        className="secondary"
        onClick={() =>
          change(['windows', `window_${Object.keys(windows).length + 1}`], {
            time_zone: 'UTC',
            start: '00:00',
            end: '08:00',
          })
        }
      >
        Add a window
      </button>
    </>
  );
}

function ModifiersEditor() {
  const { draft, change } = useEditor();
  const modifiers = draft.modifiers ?? [];
  return (
    <>
      <h3>Modifiers (windows and service tiers)</h3>
      {modifiers.map((modifier, index) => {
        const base: Path = ['modifiers', index];
        const kind = modifier.when.window !== undefined ? 'window' : 'service_tier';
        const kindId = `${idOf(base)}-kind`;
        return (
          <Group
            key={index}
            title={`Modifier ${index + 1}`}
            path={base}
            actions={<Remove path={base} what={`modifier ${index + 1}`} />}
          >
            <div className="editor-row">
              <div className="field">
                <label htmlFor={kindId}>When</label>
                <select
                  id={kindId}
                  value={kind}
                  onChange={(event) =>
                    change(
                      [...base, 'when'],
                      event.target.value === 'window'
                        ? { window: Object.keys(draft.windows ?? {})[0] ?? '' }
                        : { service_tier: 'batch' },
                    )
                  }
                >
                  <option value="window">in a window</option>
                  <option value="service_tier">service tier is</option>
                </select>
              </div>
              {kind === 'window' ? (
                <Field path={[...base, 'when', 'window']} label="Window name" />
              ) : (
                <div className="field">
                  <label htmlFor={`${idOf(base)}-tier`}>Service tier</label>
                  <select
                    id={`${idOf(base)}-tier`}
                    value={modifier.when.service_tier}
                    onChange={(event) => change([...base, 'when', 'service_tier'], event.target.value)}
                  >
                    {tiers.map((tier) => (
                      <option key={tier} value={tier}>
                        {tier}
                      </option>
                    ))}
                  </select>
                  <Messages path={[...base, 'when', 'service_tier']} />
                </div>
              )}
              <Field path={[...base, 'multiplier']} label="Multiplier" />
            </div>
            <Messages path={[...base, 'when']} />
          </Group>
        );
      })}
      <button
        type="button"
        className="secondary"
        onClick={() => change(['modifiers', modifiers.length], { when: { service_tier: 'batch' }, multiplier: '0.5' })}
      >
        Add a modifier
      </button>
    </>
  );
}

function AllowancesEditor() {
  const { draft, change } = useEditor();
  const allowances = draft.allowances ?? {};
  return (
    <>
      <h3>Included allowances</h3>
      {Object.keys(allowances).map((name) => (
        <div className="editor-row" key={name}>
          <span className="inline-label">Pool {name}</span>
          <Field path={['allowances', name, 'included']} label={`Included in ${name}`} />
          <Remove path={['allowances', name]} what={`pool ${name}`} />
        </div>
      ))}
      <button
        type="button"
        className="secondary"
        onClick={() => change(['allowances', `pool_${Object.keys(allowances).length + 1}`], { included: '1000000' })}
      >
        Add an allowance pool
      </button>
    </>
  );
}
