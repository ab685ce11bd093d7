// The eventfold console: plain JavaScript, no build step. Everything it shows comes from the admin and
// audit GraphQL API (queries and mutations over HTTP, the live tail over graphql-ws), which checks the
// caller's roles on every request. Values are put into the page as text only, never as HTML.
'use strict';

const GRAPHQL_PATH = document.querySelector('meta[name="eventfold-graphql"]').content || '/graphql';
const EVENT_FIELDS = 'id type streamName revision position data metadata recordedAt';
const PAGE = 50;
const TAIL_ROWS = 200;

const $ = (id) => document.getElementById(id);
const state = {
  tab: 'streams',
  token: sessionStorage.getItem('eventfold-console-token') || '',
  streamsNext: null,
  stream: null,
  eventsNext: null,
  reactor: null,
  tail: null,
  refreshing: false,
  /** Rebuilds asked for from this page: name → 'running', or the time it was seen finished. */
  rebuilds: new Map(),
};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== false && value !== undefined && value !== null) node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined).map((child) => (typeof child === 'object' ? child : String(child))));
  return node;
}

const json = (value) => JSON.stringify(value, null, 2);
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const pill = (text) => element('span', { class: `pill ${text}` }, text);

function showError(error) {
  $('error').textContent = error ? String(error.message || error) : '';
  $('error').hidden = !error;
}

async function graphql(query, variables = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(GRAPHQL_PATH, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const error = new Error(body.errors.map((item) => `${item.extensions?.code ? `${item.extensions.code}: ` : ''}${item.message}`).join('\n'));
    error.codes = body.errors.map((item) => item.extensions?.code);
    throw error;
  }
  return body.data;
}

/** Runs an action from a click or a form; its failure is shown, not thrown. */
function guarded(action) {
  return async (event) => {
    event?.preventDefault?.();
    try {
      showError(null);
      await action(event);
    } catch (error) {
      showError(error);
    }
  };
}

// Tabs

function selectTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('nav [role="tab"]')) button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  for (const panel of document.querySelectorAll('[role="tabpanel"]')) panel.hidden = panel.id !== `panel-${tab}`;
  void refresh();
}

// Streams

async function listStreams(append) {
  const prefix = $('prefix').value.trim();
  const data = await graphql('query ($prefix: String, $after: String, $first: Int) { streams(prefix: $prefix, after: $after, first: $first) { items { streamName revision } next } }', {
    prefix: prefix || null,
    after: append ? state.streamsNext : null,
    first: PAGE,
  });
  const items = data.streams.items.map((stream) =>
    element(
      'li',
      { 'data-stream': stream.streamName, 'aria-current': String(stream.streamName === state.stream), onclick: guarded(() => openStream(stream.streamName)) },
      element('span', {}, stream.streamName),
      element('span', { title: 'revision of its last event' }, `@${stream.revision}`),
    ),
  );
  if (append) $('streams').append(...items);
  else $('streams').replaceChildren(...(items.length ? items : [element('li', { class: 'muted' }, 'no streams')]));
  state.streamsNext = data.streams.next;
  $('more-streams').hidden = !data.streams.next;
}

function eventRow(event, options = {}) {
  const correlationId = event.metadata && event.metadata.correlationId;
  return element(
    'tr',
    { 'data-event-type': event.type, 'data-revision': event.revision, class: 'new' },
    element('td', { class: 'muted' }, options.showStream ? `${event.streamName}@${event.revision}` : event.revision),
    element('td', {}, element('strong', {}, event.type), element('br'), element('code', { class: 'muted' }, event.id)),
    element('td', { class: 'muted' }, time(event.recordedAt)),
    element(
      'td',
      {},
      element('pre', { class: 'data' }, json(event.data)),
      element('details', {}, element('summary', {}, 'metadata'), element('pre', { class: 'metadata' }, json(event.metadata))),
    ),
    element(
      'td',
      {},
      options.showStream
        ? null
        : element('button', { type: 'button', class: 'secondary small-button', 'data-state-at': event.revision, onclick: guarded(() => showState(event.streamName, event.revision)) }, 'State here'),
      correlationId
        ? element('button', { type: 'button', class: 'secondary small-button', onclick: guarded(() => showWorkflow(correlationId)) }, 'Workflow')
        : null,
    ),
  );
}

async function openStream(streamName, append = false) {
  if (!append) {
    state.stream = streamName;
    state.eventsNext = null;
    $('events').replaceChildren();
    $('state').hidden = true;
    for (const item of $('streams').children) item.setAttribute('aria-current', String(item.dataset.stream === streamName));
  }
  const data = await graphql(`query ($streamName: String!, $fromRevision: String, $first: Int) { streamEvents(streamName: $streamName, fromRevision: $fromRevision, first: $first) { events { ${EVENT_FIELDS} } nextRevision } }`, {
    streamName,
    fromRevision: append ? state.eventsNext : null,
    first: PAGE,
  });
  $('stream-title').textContent = streamName;
  $('stream-title').className = '';
  $('events-table').hidden = false;
  $('events').append(...data.streamEvents.events.map((event) => eventRow(event)));
  state.eventsNext = data.streamEvents.nextRevision;
  $('more-events').hidden = !data.streamEvents.nextRevision;
}

async function showState(streamName, revision) {
  $('state').hidden = false;
  $('state-title').textContent = `${streamName} after revision ${revision}`;
  try {
    const data = await graphql('query ($streamName: String!, $revision: String) { aggregateState(streamName: $streamName, revision: $revision) { revision time state } }', { streamName, revision });
    $('state-json').textContent = json(data.aggregateState.state);
  } catch (error) {
    // A stream of no registered aggregate has events but no state the audit API can fold.
    $('state-json').textContent = error.codes?.includes('NOT_FOUND') ? 'The audit API knows no aggregate for this stream (register it in createApi({ aggregates })).' : String(error.message);
  }
}

async function showWorkflow(correlationId) {
  const data = await graphql(`query ($correlationId: ID!, $first: Int) { correlation(correlationId: $correlationId, first: $first) { events { ${EVENT_FIELDS} } nextCursor } }`, { correlationId, first: PAGE });
  state.stream = null;
  state.eventsNext = null;
  $('state').hidden = true;
  $('correlation').value = correlationId;
  $('stream-title').textContent = `Workflow ${correlationId}`;
  $('stream-title').className = '';
  $('events-table').hidden = false;
  $('events').replaceChildren(...data.correlation.events.map((event) => eventRow(event, { showStream: true })));
  $('more-events').hidden = true;
}

// Live tail

const START = '0'.repeat(32);

async function toggleTail() {
  if (state.tail) {
    state.tail.dispose();
    state.tail = null;
    $('tail-toggle').textContent = 'Start';
    $('tail-status').textContent = 'stopped';
    return;
  }
  const prefix = $('tail-prefix').value.trim();
  const type = $('tail-type').value.trim();
  // From the head as it is now, so that nothing appended after the click is missed.
  const { storeHead } = await graphql('{ storeHead }');
  const client = graphqlWs.createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${GRAPHQL_PATH}`,
    connectionParams: () => (state.token ? { authorization: `Bearer ${state.token}` } : {}),
    retryAttempts: 5,
  });
  const unsubscribe = client.subscribe(
    {
      query: `subscription ($prefixes: [String!], $types: [String!], $after: String) { eventAppended(prefixes: $prefixes, types: $types, after: $after) { ${EVENT_FIELDS} } }`,
      variables: { prefixes: prefix ? [prefix] : null, types: type ? [type] : null, after: storeHead || START },
    },
    {
      next: (result) => {
        if (result.errors) return showError(new Error(result.errors.map((error) => error.message).join('\n')));
        const event = result.data.eventAppended;
        const row = element(
          'tr',
          { class: 'new', 'data-event-type': event.type },
          element('td', { class: 'muted' }, time(event.recordedAt)),
          element('td', {}, `${event.streamName}@${event.revision}`),
          element('td', {}, element('strong', {}, event.type)),
          element('td', {}, element('code', {}, JSON.stringify(event.data))),
        );
        $('tail').prepend(row);
        while ($('tail').children.length > TAIL_ROWS) $('tail').lastChild.remove();
      },
      error: (error) => {
        showError(new Error(Array.isArray(error) ? error.map((item) => item.message).join('\n') : `live tail: ${error.reason || error.message || 'connection closed'}`));
        $('tail-status').textContent = 'stopped';
      },
      complete: () => {
        $('tail-status').textContent = 'stopped';
      },
    },
  );
  state.tail = {
    dispose: () => {
      unsubscribe();
      void client.dispose();
    },
  };
  $('tail-toggle').textContent = 'Stop';
  $('tail-status').textContent = `following ${prefix || 'all streams'}${type ? `, ${type} only` : ''}`;
}

// Projections

async function refreshProjections() {
  const data = await graphql(
    '{ projectionStatuses { name state version definedVersion position eventsHandled lagEvents lagMs lastError { message eventId } rebuild { state eventsDone eventsTotal eventsPerSecond } } }',
  );
  $('projections').replaceChildren(
    ...data.projectionStatuses.map((projection) => {
      const rebuild = projection.rebuild;
      const asked = state.rebuilds.get(projection.name);
      if (asked === 'running' && !rebuild && projection.state !== 'failed') state.rebuilds.set(projection.name, new Date());
      const finished = state.rebuilds.get(projection.name);
      const progress = rebuild
        ? element(
            'span',
            { class: 'rebuilding' },
            element('progress', { max: rebuild.eventsTotal || 1, value: rebuild.eventsDone || 0 }),
            ` ${rebuild.eventsDone ?? 0}/${rebuild.eventsTotal ?? '?'} · ${rebuild.eventsPerSecond}/s`,
          )
        : element(
            'span',
            {},
            element('button', { type: 'button', class: 'secondary small-button', 'data-rebuild': projection.name, onclick: guarded(() => rebuildProjection(projection.name)) }, 'Rebuild'),
            finished instanceof Date ? element('span', { class: 'rebuilt muted small' }, ` rebuilt at ${finished.toLocaleTimeString()}`) : null,
          );
      return element(
        'tr',
        { 'data-projection': projection.name, 'data-state': projection.state, 'data-rebuilding': String(Boolean(rebuild)) },
        element('td', {}, element('strong', {}, projection.name)),
        element('td', {}, pill(projection.state)),
        element('td', {}, projection.version === projection.definedVersion ? `v${projection.version}` : `v${projection.version} → v${projection.definedVersion}`),
        element('td', { class: 'lag' }, `${projection.lagEvents ?? '?'} events · ${Math.round(projection.lagMs)} ms`),
        element('td', {}, projection.eventsHandled),
        element('td', {}, progress),
        element('td', { class: 'error-text' }, projection.lastError ? projection.lastError.message : ''),
      );
    }),
  );
}

async function rebuildProjection(name) {
  state.rebuilds.set(name, 'running');
  await graphql('mutation ($name: String!) { rebuildProjection(name: $name) { name } }', { name });
  await refreshProjections();
}

// Reactors

async function refreshReactors() {
  const data = await graphql('{ reactorStatuses { name state position lagEvents parkedCount lastError } }');
  $('reactors').replaceChildren(
    ...data.reactorStatuses.map((reactor) =>
      element(
        'tr',
        {
          class: 'clickable',
          'data-reactor': reactor.name,
          'data-parked': reactor.parkedCount,
          'aria-current': String(reactor.name === state.reactor),
          onclick: guarded(() => openReactor(reactor.name)),
        },
        element('td', {}, element('strong', {}, reactor.name)),
        element('td', {}, pill(reactor.state)),
        element('td', {}, `${reactor.lagEvents ?? '?'} events`),
        element('td', {}, reactor.parkedCount > 0 ? pill(`${reactor.parkedCount}`) : '0'),
        element('td', { class: 'error-text' }, reactor.lastError || ''),
      ),
    ),
  );
  if (state.reactor) await refreshReactorDetail();
}

async function openReactor(name) {
  state.reactor = name;
  for (const row of $('reactors').children) row.setAttribute('aria-current', String(row.dataset.reactor === name));
  $('reactor-detail').hidden = false;
  $('reactor-title').textContent = name;
  await refreshReactorDetail();
}

async function refreshReactorDetail() {
  const reactor = state.reactor;
  const data = await graphql(
    'query ($reactor: String!) { parkedEvents(reactor: $reactor, first: 20) { items { eventId eventType streamName attempts reason parkedAt } next } reactorInvocations(reactor: $reactor, first: 30) { eventId streamName attempt outcome durationMs error at } }',
    { reactor },
  );
  if (reactor !== state.reactor) return;
  const parked = data.parkedEvents.items;
  $('parked').replaceChildren(
    ...(parked.length
      ? parked.map((item) =>
          element(
            'tr',
            { 'data-event-id': item.eventId },
            element('td', { class: 'muted' }, time(item.parkedAt)),
            element('td', {}, element('strong', {}, item.eventType), element('br'), element('code', { class: 'muted' }, item.eventId)),
            element('td', {}, item.streamName),
            element('td', {}, item.attempts),
            element('td', { class: 'reason' }, item.reason),
            element('td', {}, element('button', { type: 'button', 'data-redrive': item.eventId, onclick: guarded(() => redrive(reactor, [item.eventId])) }, 'Redrive')),
          ),
        )
      : [element('tr', { class: 'none' }, element('td', { colspan: 6, class: 'muted' }, 'No parked events.'))]),
  );
  $('redrive-all').disabled = parked.length === 0;
  $('invocations').replaceChildren(
    ...data.reactorInvocations.map((invocation) =>
      element(
        'tr',
        { 'data-outcome': invocation.outcome },
        element('td', { class: 'muted' }, time(invocation.at)),
        element('td', {}, element('code', {}, invocation.eventId)),
        element('td', {}, invocation.streamName),
        element('td', {}, invocation.attempt),
        element('td', {}, pill(invocation.outcome)),
        element('td', {}, Math.round(invocation.durationMs)),
        element('td', { class: 'error-text' }, invocation.error || ''),
      ),
    ),
  );
}

async function redrive(reactor, eventIds) {
  await graphql('mutation ($reactor: String!, $eventIds: [String!]) { redriveParked(reactor: $reactor, eventIds: $eventIds) }', { reactor, eventIds });
  await refreshReactors();
}

// Refresh: the status panels follow the API while they are shown.

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    if (state.tab === 'projections') await refreshProjections();
    else if (state.tab === 'reactors') await refreshReactors();
  } catch (error) {
    showError(error);
  } finally {
    state.refreshing = false;
  }
}

function start() {
  $('endpoint').textContent = GRAPHQL_PATH;
  $('token').value = state.token;
  for (const button of document.querySelectorAll('nav [role="tab"]')) button.addEventListener('click', () => selectTab(button.dataset.tab));
  $('auth').addEventListener(
    'submit',
    guarded(async () => {
      state.token = $('token').value.trim();
      sessionStorage.setItem('eventfold-console-token', state.token);
      await listStreams(false);
    }),
  );
  $('stream-search').addEventListener('submit', guarded(() => listStreams(false)));
  $('more-streams').addEventListener('click', guarded(() => listStreams(true)));
  $('more-events').addEventListener('click', guarded(() => openStream(state.stream, true)));
  $('show-workflow').addEventListener(
    'click',
    guarded(() => {
      const id = $('correlation').value.trim();
      if (id) return showWorkflow(id);
      return undefined;
    }),
  );
  $('tail-form').addEventListener('submit', guarded(() => toggleTail()));
  $('redrive-all').addEventListener('click', guarded(() => state.reactor && redrive(state.reactor, null)));
  setInterval(() => void refresh(), 1000);
  void guarded(() => listStreams(false))();
}

start();
