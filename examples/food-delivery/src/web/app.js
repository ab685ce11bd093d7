// The food-delivery page: plain JavaScript, no build step. Queries and mutations go over HTTP, the live
// status over a GraphQL subscription (graphql-ws, protocol graphql-transport-ws; SSE when WebSocket is
// cut) on the same port.
'use strict';

// The operations' texts are in operations.js (OPERATIONS), typed and safelisted by `npm run codegen`.
const STEPS = [
  ['PLACED', 'Placed'],
  ['VALIDATED', 'Validated'],
  ['PAID', 'Paid'],
  ['APPROVED', 'Approved'],
  ['DRIVER_ASSIGNED', 'Driver assigned'],
];
const FAILED = { REJECTED: 1, PAYMENT_FAILED: 2, CANCELLED: -1 };
const CANCELLABLE = new Set(['PLACED', 'VALIDATED', 'PAID']);

const $ = (id) => document.getElementById(id);
const state = { restaurants: [], restaurant: null, cart: new Map(), order: null, unsubscribe: null, approval: 'auto', historyShown: 0, countdown: null };
const money = (amount) => amount.toFixed(2);

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== false && value !== undefined && value !== null) node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

async function graphql(query, variables = {}) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) {
    const error = new Error(body.errors.map(describeError).join('\n'));
    error.errors = body.errors;
    throw error;
  }
  return body.data;
}

function describeError(error) {
  const fields = error.extensions?.fields;
  const code = error.extensions?.code ? `${error.extensions.code}: ` : '';
  if (Array.isArray(fields) && fields.length) return code + fields.map((field) => `${field.path} ${field.message}`).join('; ');
  return code + error.message;
}

function showError(error) {
  $('error').textContent = error ? String(error.message || error) : '';
  $('error').hidden = !error;
}

// Live updates over WebSocket; where a proxy or firewall cuts WebSockets before the first connection,
// over Server-Sent Events (graphql-sse) on the same path instead. `data-transport` on <body> says which.
let wsConnected = false;
let live = 'ws';
const ws = graphqlWs.createClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  lazy: true,
  retryAttempts: Infinity,
  shouldRetry: () => wsConnected,
  on: { connected: () => ((wsConnected = true), (document.body.dataset.transport = 'ws')) },
});
let sse = null;

function subscribeLive(payload, sink) {
  const overSse = () => {
    live = 'sse';
    document.body.dataset.transport = 'sse';
    sse ??= graphqlSse.createClient({ url: `${location.origin}/graphql`, retryAttempts: Infinity });
    return sse.subscribe(payload, sink);
  };
  if (live === 'sse') return overSse();
  let stopped = false;
  let stop = ws.subscribe(payload, {
    ...sink,
    error: (error) => {
      if (wsConnected || stopped) return sink.error(error);
      stop = overSse();
    },
  });
  return () => {
    stopped = true;
    stop();
  };
}

function renderRestaurants() {
  $('restaurants').replaceChildren(
    ...state.restaurants.map((restaurant) =>
      element(
        'button',
        {
          type: 'button',
          class: 'restaurant',
          'data-restaurant': restaurant.id,
          'aria-pressed': String(state.restaurant?.id === restaurant.id),
          onclick: () => {
            state.restaurant = restaurant;
            state.cart.clear();
            renderRestaurants();
            renderMenu();
          },
        },
        element('strong', {}, restaurant.name),
        element('small', {}, restaurant.cuisine),
      ),
    ),
  );
}

function renderMenu() {
  const restaurant = state.restaurant;
  if (!restaurant) {
    $('menu').replaceChildren(element('p', { class: 'muted' }, 'Pick a restaurant.'));
  } else {
    $('menu').replaceChildren(
      ...restaurant.menu.map((item) => {
        const quantity = state.cart.get(item.id) ?? 0;
        const change = (delta) => () => {
          const next = Math.min(100, Math.max(0, (state.cart.get(item.id) ?? 0) + delta));
          if (next === 0) state.cart.delete(item.id);
          else state.cart.set(item.id, next);
          renderMenu();
        };
        return element(
          'div',
          { class: 'item', 'data-item': item.id },
          element('span', {}, item.name),
          element('span', { class: 'price' }, money(item.price)),
          element(
            'span',
            { class: 'qty' },
            element('button', { type: 'button', 'aria-label': `one less ${item.name}`, onclick: change(-1), disabled: quantity === 0 }, '−'),
            element('output', {}, String(quantity)),
            element('button', { type: 'button', 'aria-label': `one more ${item.name}`, 'data-add': item.id, onclick: change(1) }, '+'),
          ),
        );
      }),
    );
  }
  const total = restaurant ? restaurant.menu.reduce((sum, item) => sum + item.price * (state.cart.get(item.id) ?? 0), 0) : 0;
  $('cart-total').textContent = money(total);
  $('place').disabled = state.cart.size === 0;
}

async function placeOrder() {
  showError(null);
  $('place').disabled = true;
  const input = {
    orderId: newId(),
    customerId: $('customer').value.trim(),
    restaurantId: state.restaurant.id,
    items: [...state.cart].map(([menuItemId, quantity]) => ({ menuItemId, quantity })),
    customerName: $('customer-name').value.trim() || null,
    deliveryAddress: $('delivery-address').value.trim() || null,
  };
  // One command id per click: a network retry of the same click can never place the order twice.
  const commandId = newId();
  try {
    await graphql(OPERATIONS.Place, { input, commandId });
    localStorage.setItem('customerId', input.customerId);
    state.cart.clear();
    renderMenu();
    track(input.orderId, 0); // every state from OrderPlaced on, even those before the subscription started
    loadOrders();
  } catch (error) {
    showError(error);
    $('place').disabled = state.cart.size === 0;
  }
}

function track(orderId, fromRevision = null) {
  state.unsubscribe?.();
  state.order = null;
  state.historyShown = 0;
  $('empty').hidden = true;
  $('order').hidden = false;
  $('order-id').textContent = orderId;
  $('history').replaceChildren();
  state.unsubscribe = subscribeLive(
    {
      query: OPERATIONS.Updated,
      variables: { id: orderId, fromRevision },
    },
    {
      next: ({ data, errors }) => {
        if (errors?.length) return showError(new Error(errors.map(describeError).join('\n')));
        if (data?.orderUpdated) renderOrder(data.orderUpdated);
      },
      error: (error) => showError(error instanceof Error ? error : new Error('the live connection failed')),
      complete: () => {},
    },
  );
}

function renderOrder(order) {
  state.order = order;
  const status = $('status');
  status.textContent = order.status.replace('_', ' ');
  status.dataset.status = order.status;
  status.className = `status ${order.status === 'DRIVER_ASSIGNED' ? 'good' : order.status in FAILED ? 'bad' : ''}`;

  renderDeliverTo(order);

  const reached = STEPS.findIndex(([name]) => name === order.status);
  const failedAt = FAILED[order.status];
  $('steps').replaceChildren(
    ...STEPS.map(([name, label], index) => {
      let className = '';
      if (reached >= 0 ? index <= reached : failedAt !== undefined && failedAt > 0 && index < failedAt) className = 'done';
      if (failedAt !== undefined && failedAt > 0 && index === failedAt) className = 'failed';
      const text = failedAt !== undefined && index === failedAt ? order.status.replace('_', ' ').toLowerCase() : label;
      return element('li', { class: className, 'data-step': name }, text);
    }),
  );
  const reason = order.rejectionReason ?? order.paymentError ?? (order.cancellationReason && `Cancelled: ${order.cancellationReason}`);
  $('reason').textContent = reason ?? '';
  $('reason').hidden = !reason;
  if (order.driverId) {
    $('reason').hidden = false;
    $('reason').style.background = '#e3f5ea';
    $('reason').style.color = 'var(--ok)';
    const name = order.driverId.replace('driver-', '');
    $('reason').textContent = `${name.charAt(0).toUpperCase()}${name.slice(1)} is your driver and on the way.`;
  } else {
    $('reason').style.background = '';
    $('reason').style.color = '';
  }
  $('lines').replaceChildren(
    ...order.items.map((item) =>
      element(
        'tr',
        {},
        element('td', {}, `${item.quantity} ×`),
        element('td', {}, item.name ?? item.menuItemId),
        element('td', {}, item.unitPrice === null ? '…' : money(item.unitPrice * item.quantity)),
      ),
    ),
  );
  $('order-total').textContent = order.status === 'PLACED' ? '…' : money(order.total);
  $('cancel').hidden = !CANCELLABLE.has(order.status);
  $('approve').hidden = !(state.approval === 'manual' && order.status === 'PAID');
  renderDeadline(order);
  if (order.refunded) $('reason').textContent = `${$('reason').textContent} · refunded`;
  loadHistory(order.id);
  loadOrders();
}

/** A paid order waiting for the restaurant: the time left before it is cancelled, counting down each second. */
function renderDeadline(order) {
  clearInterval(state.countdown);
  state.countdown = null;
  const deadline = $('deadline');
  if (!order.approvalDeadline || order.status !== 'PAID') {
    deadline.hidden = true;
    return;
  }
  const due = new Date(order.approvalDeadline).getTime();
  const tick = () => {
    const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
    deadline.textContent = left > 0
      ? `The restaurant has ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} to approve; then the order is cancelled and refunded.`
      : 'Approval time is up: the order is being cancelled and refunded.';
    if (left === 0) clearInterval(state.countdown);
  };
  deadline.hidden = false;
  deadline.dataset.deadline = order.approvalDeadline;
  tick();
  state.countdown = setInterval(tick, 1000);
}

function renderDeliverTo(order) {
  const deliverTo = $('deliver-to');
  const text = order.personalDataErased
    ? 'Name and address erased (the customer was forgotten)'
    : [order.customerName, order.deliveryAddress].filter(Boolean).join(' · ');
  deliverTo.textContent = text;
  deliverTo.hidden = !text;
}

/** Forgets the customer in the box, then shows the open order as it is now (its name and address erased). */
async function forgetCustomer() {
  showError(null);
  const customerId = $('customer').value.trim();
  if (!customerId) return;
  try {
    await graphql(OPERATIONS.Forget, { customerId });
    $('customer-name').value = '';
    $('delivery-address').value = '';
    if (state.order) {
      const { order } = await graphql(OPERATIONS.Order, { id: state.order.id });
      if (order) renderOrder(order);
    }
  } catch (error) {
    showError(error);
  }
}

async function loadHistory(orderId) {
  try {
    const { orderHistory } = await graphql(OPERATIONS.History, { id: orderId });
    if (state.order?.id !== orderId) return;
    const start = orderHistory.length ? Date.parse(orderHistory[0].recordedAt) : 0;
    $('history').replaceChildren(
      ...orderHistory.map((event, index) => {
        const { orderId: _orderId, ...data } = event.data;
        const after = Date.parse(event.recordedAt) - start;
        return element(
          'tr',
          { class: index >= state.historyShown ? 'new' : '', 'data-event': event.type },
          element('td', {}, event.revision),
          element('td', {}, element('strong', {}, event.type)),
          element('td', {}, element('code', {}, JSON.stringify(data))),
          element('td', {}, event.metadata.commandType ?? ''),
          element('td', { title: event.recordedAt }, index === 0 ? new Date(event.recordedAt).toLocaleTimeString() : `+${after} ms`),
        );
      }),
    );
    state.historyShown = orderHistory.length;
  } catch (error) {
    showError(error);
  }
}

async function loadOrders() {
  const customerId = $('customer').value.trim();
  if (!customerId) return;
  try {
    const { orders } = await graphql(OPERATIONS.Orders, { customerId });
    const names = new Map(state.restaurants.map((restaurant) => [restaurant.id, restaurant.name]));
    $('orders').replaceChildren(
      ...orders.nodes.map((order) =>
        element(
          'li',
          { onclick: () => track(order.id), title: order.id },
          element('span', {}, names.get(order.restaurantId) ?? order.restaurantId),
          element('span', { class: 'muted' }, `${order.status.replace('_', ' ').toLowerCase()} · ${money(order.total)}`),
        ),
      ),
    );
  } catch (error) {
    showError(error);
  }
}

async function runOnOrder(mutation, variables) {
  showError(null);
  try {
    await graphql(mutation, { ...variables, commandId: newId() });
  } catch (error) {
    showError(error);
  }
}

async function start() {
  $('customer').value = localStorage.getItem('customerId') || `customer-${newId().slice(0, 8)}`;
  $('place').addEventListener('click', placeOrder);
  $('forget').addEventListener('click', forgetCustomer);
  $('cancel').addEventListener('click', () =>
    runOnOrder(OPERATIONS.Cancel, { orderId: state.order.id }),
  );
  $('approve').addEventListener('click', () =>
    runOnOrder(OPERATIONS.Approve, { orderId: state.order.id }),
  );
  try {
    const data = await graphql(OPERATIONS.Start);
    state.restaurants = data.restaurants;
    state.approval = data.restaurantApproval;
    state.restaurant = state.restaurants[0] ?? null;
    renderRestaurants();
    renderMenu();
    loadOrders();
  } catch (error) {
    showError(error);
  }
}

start();
