// A price book: its versions on a timeline, a draft of the next version edited without JSON and compiled in the
// browser as it changes (messages at their fields), a live panel rating sample events with the wasm kernel under
// the published price and the draft side by side, and publishing the draft with its effective date.
import { useEffect, useMemo, useState } from 'react';
import { useParams } from 'react-router';
import { api, errorInfo, useApiMutation, useApiQuery } from '../api.ts';
import { VersionEditor } from '../pricebook/Editor.tsx';
import { ReratingsPanel } from '../pricebook/Reratings.tsx';
import { SimulationPanel } from '../pricebook/Simulation.tsx';
import {
  compileBook,
  rateSamples,
  type BookVersion,
  type PriceBook,
  type RatedEvent,
  type UsageEvent,
} from '../pricebook/kernel.ts';
import { dottedPath, problemsByPath } from '../pricebook/paths.ts';
import { fromNano, sampleEventsFor, toNano } from '../pricebook/samples.ts';
import { ErrorBanner, Loading, Notice, formatInstant } from '../ui.tsx';

type Schedule = 'price' | 'cost';

export default function PriceBookPage() {
  const code = useParams().code!;
  const book = useApiQuery('priceBooks.get', { code }, () => api.priceBooks.get.query({ code }));
  if (book.isPending) return <Loading />;
  if (book.error) return <ErrorBanner error={book.error} />;
  return <Loaded summary={book.data} book={book.data.book as unknown as PriceBook} />;
}

type Summary = Awaited<ReturnType<typeof api.priceBooks.get.query>>;

function Loaded({ summary, book }: { summary: Summary; book: PriceBook }) {
  const [schedule, setSchedule] = useState<Schedule>('price');
  const versions = schedule === 'price' ? book.versions : (book.cost?.versions ?? []);
  const [draft, setDraft] = useState<BookVersion>(() => nextDraft(book.versions));
  // A date already past re-rates the events since then: the server previews that re-rating before changing anything.
  const retroactive = schedule === 'price' && Date.parse(draft.effective_from) < Date.now();
  const [publishedRetroactive, setPublishedRetroactive] = useState(false);
  useEffect(
    () => setDraft(nextDraft(schedule === 'price' ? book.versions : (book.cost?.versions ?? []))),
    [schedule, book],
  );

  // The whole book with the draft appended, as the server will check it; problems in the draft move to its paths.
  const prefix = schedule === 'price' ? `versions.${versions.length}` : `cost.versions.${versions.length}`;
  const candidate = useMemo(() => withDraft(book, schedule, draft), [book, schedule, draft]);
  const compiled = useMemo(() => compileBook(candidate), [candidate]);
  const compilerProblems = compiled.ok
    ? []
    : compiled.errors.map((p) => ({ path: dottedPath(p.path), message: p.message }));
  const draftProblems = compilerProblems
    .filter((p) => p.path === prefix || p.path.startsWith(`${prefix}.`))
    .map((p) => ({ path: p.path.slice(prefix.length + 1), message: p.message }));
  const otherProblems = compilerProblems.filter((p) => !(p.path === prefix || p.path.startsWith(`${prefix}.`)));

  const publish = useApiMutation(
    () =>
      api.priceBooks.addVersion.mutate({
        code: summary.code,
        version: { version: draft as unknown as Record<string, unknown>, schedule, retroactive },
      }),
    ['priceBooks.get', 'reratings.list'],
  );
  const serverProblems = (errorInfo(publish.error)?.fields ?? [])
    .filter((f) => f.field.startsWith('version.'))
    .map((f) => ({ path: f.field.slice('version.'.length), message: f.reason }));
  const problems = problemsByPath([...draftProblems, ...serverProblems]);

  return (
    <>
      <h1>
        {summary.name ?? summary.code}{' '}
        <span className="muted">
          ({summary.code}, {summary.currency})
        </span>
      </h1>
      <Timeline summary={summary} />
      <ReratingsPanel code={summary.code} />
      <section className="card" aria-labelledby="draft-title">
        <h2 id="draft-title">Next version</h2>
        <div className="toolbar">
          <div className="field">
            <label htmlFor="schedule">Schedule</label>
            <select id="schedule" value={schedule} onChange={(event) => setSchedule(event.target.value as Schedule)}>
              <option value="price">price (what customers pay)</option>
              <option value="cost">cost (COGS, for margin)</option>
            </select>
          </div>
        </div>
        <p role="status" data-testid="compile-status" className={compilerProblems.length ? 'field-error' : 'muted'}>
          {compilerProblems.length
            ? `${compilerProblems.length} compiler message${compilerProblems.length > 1 ? 's' : ''}`
            : 'Compiles: ready to publish'}
        </p>
        {otherProblems.map((p) => (
          <p key={p.path} className="field-error">
            {p.path}: {p.message}
          </p>
        ))}
        <VersionEditor draft={draft} onChange={setDraft} problems={problems} />
        <LivePanel book={book} schedule={schedule} draft={draft} compiles={compilerProblems.length === 0} />
        {schedule === 'price' ? (
          <SimulationPanel code={summary.code} draft={draft} compiles={compilerProblems.length === 0} />
        ) : null}
        <div className="toolbar">
          {retroactive ? (
            <p className="banner notice" data-testid="retroactive-notice">
              This date is in the past: publishing opens a re-rating of the events since then. Its preview (billed and
              re-rated, per customer and period) shows above, and nothing already billed changes until it is applied.
            </p>
          ) : null}
          <button
            type="button"
            disabled={compilerProblems.length > 0 || publish.isPending}
            onClick={() => {
              setPublishedRetroactive(retroactive);
              publish.mutate(undefined);
            }}
          >
            {retroactive ? 'Publish and preview the re-rating' : 'Publish version'}
          </button>
        </div>
        <ErrorBanner error={publish.error} />
        {publish.data ? (
          <Notice>
            Published: version {publish.data.versions.filter((v) => v.schedule === schedule).length} takes effect{' '}
            {formatInstant(draft.effective_from)}.
            {publishedRetroactive
              ? ' A re-rating of the events it covers is being previewed above: nothing already billed changes until it is applied.'
              : null}
          </Notice>
        ) : null}
      </section>
    </>
  );
}

function Timeline({ summary }: { summary: Summary }) {
  const now = Date.now();
  const inForce = (schedule: string) =>
    summary.versions.filter((v) => v.schedule === schedule && Date.parse(v.effective_from) <= now).at(-1);
  const current = new Set([inForce('price'), inForce('cost')]);
  return (
    <section className="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Versions</h2>
      <ol className="timeline">
        {[...summary.versions]
          .sort((a, b) => Date.parse(a.effective_from) - Date.parse(b.effective_from))
          .map((v) => (
            <li
              key={`${v.schedule}-${v.version}`}
              className={current.has(v) ? 'current' : undefined}
              data-version={`${v.schedule}-${v.version}`}
            >
              <strong>
                {v.schedule} v{v.version}
              </strong>{' '}
              from {formatInstant(v.effective_from)}
              {current.has(v) ? ' (in force)' : Date.parse(v.effective_from) > now ? ' (scheduled)' : ''}
              <br />
              <small className="muted">by {v.created_by}</small>
            </li>
          ))}
      </ol>
    </section>
  );
}

function LivePanel({
  book,
  schedule,
  draft,
  compiles,
}: {
  book: PriceBook;
  schedule: Schedule;
  draft: BookVersion;
  compiles: boolean;
}) {
  const [at] = useState(() => new Date().toISOString());
  const [text, setText] = useState(() => JSON.stringify(sampleEventsFor(book.versions.at(-1)!, at), null, 1));
  const [rows, setRows] = useState<{ event: UsageEvent; before: RatedEvent; after: RatedEvent }[]>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    if (!compiles) return;
    let events: UsageEvent[];
    try {
      events = JSON.parse(text) as UsageEvent[];
      if (!Array.isArray(events)) throw new Error('the sample events must be a JSON array');
    } catch (error) {
      setProblem((error as Error).message);
      return;
    }
    let current = true;
    // The draft alone, in force from the start of time, prices each event; the published book prices it as it stands.
    const draftOnly = withDraftOnly(book, schedule, draft);
    Promise.all([rateSamples(book, events), rateSamples(draftOnly, events)]).then(
      ([before, after]) => {
        if (!current) return;
        setProblem(undefined);
        setRows(events.map((event, index) => ({ event, before: before[index], after: after[index] })));
      },
      (error: Error) => current && setProblem(error.message),
    );
    return () => {
      current = false;
    };
  }, [book, schedule, draft, text, compiles]);
  const figure = (rated: RatedEvent) => (schedule === 'price' ? rated.amount : rated.cost);
  return (
    <section className="card" aria-labelledby="live-title">
      <h3 id="live-title">Live estimate (rated in your browser by the wasm kernel)</h3>
      <div className="field">
        <label htmlFor="sample-events">Sample events (JSON array)</label>
        <textarea id="sample-events" rows={6} value={text} onChange={(event) => setText(event.target.value)} />
      </div>
      {problem ? <p className="field-error">{problem}</p> : null}
      {!compiles ? <p className="muted">Fix the compiler messages to see the new prices.</p> : null}
      {rows ? (
        <table aria-label="Old and new price per sample event">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Card</th>
              <th scope="col" className="number">
                Published {schedule}
              </th>
              <th scope="col" className="number">
                Draft {schedule}
              </th>
              <th scope="col" className="number">
                Change
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ event, before, after }) => {
              const old = figure(before);
              const next = figure(after);
              return (
                <tr key={event.transaction_id} data-sample={event.transaction_id}>
                  <td>{event.transaction_id}</td>
                  <td>{after.card ?? after.error?.code ?? '—'}</td>
                  <td className="number" data-old={old ?? ''}>
                    {old ?? before.error?.code ?? '—'}
                  </td>
                  <td className="number" data-new={next ?? ''}>
                    {next ?? after.error?.message ?? '—'}
                  </td>
                  <td className="number">
                    {old !== undefined && next !== undefined ? fromNano(toNano(next) - toNano(old)) : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** The next version to edit: the last one of the schedule, from tomorrow 00:00 UTC. */
function nextDraft(versions: BookVersion[]): BookVersion {
  const last = versions.at(-1);
  const tomorrow = new Date();
  tomorrow.setUTCHours(24, 0, 0, 0);
  return {
    ...(last ? structuredClone(last) : { rate_cards: [] }),
    effective_from: tomorrow.toISOString().replace('.000Z', 'Z'),
  };
}

function withDraft(book: PriceBook, schedule: Schedule, draft: BookVersion): PriceBook {
  if (schedule === 'price') return { ...book, versions: [...book.versions, draft] };
  return { ...book, cost: { ...book.cost, versions: [...(book.cost?.versions ?? []), draft] } };
}

function withDraftOnly(book: PriceBook, schedule: Schedule, draft: BookVersion): PriceBook {
  const always = { ...draft, effective_from: '1970-01-01T00:00:00Z' };
  if (schedule === 'price') return { ...book, versions: [always] };
  return { ...book, cost: { ...book.cost, versions: [always] } };
}
