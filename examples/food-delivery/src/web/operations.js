// The page's GraphQL operations, in one place: a classic script (no build step) that app.js reads from
// OPERATIONS. `npm run codegen` types them from examples/food-delivery/schema.graphql into
// operations.generated.ts (typed document nodes) and lists them in persisted-documents.json, the
// safelist the app serves with SAFELIST=1. A test fails when one of them no longer fits the schema.
'use strict';

const OPERATIONS = Object.freeze({
  Start: `query Start { restaurantApproval restaurants { id name cuisine menu { id name price } } }`,
  Place: `mutation Place($input: PlaceOrderInput!, $commandId: ID) {
  placeOrder(input: $input, commandId: $commandId) { commandId streamName revision position correlationId }
}`,
  Updated: `subscription Updated($id: ID!, $fromRevision: Int) {
  orderUpdated(id: $id, fromRevision: $fromRevision) {
    id status customerId restaurantId total rejectionReason paymentError cancellationReason driverId position
    approvalDeadline refunded customerName deliveryAddress personalDataErased
    items { menuItemId name quantity unitPrice }
  }
}`,
  Order: `query Order($id: ID!) {
  order(id: $id) {
    id status customerId restaurantId total rejectionReason paymentError cancellationReason driverId position
    approvalDeadline refunded customerName deliveryAddress personalDataErased
    items { menuItemId name quantity unitPrice }
  }
}`,
  Forget: `mutation Forget($customerId: ID!) { forgetCustomer(customerId: $customerId) { keysDestroyed position } }`,
  History: `query History($id: ID!) { orderHistory(id: $id) { type revision position data metadata recordedAt } }`,
  Orders: `query Orders($customerId: ID) { orders(customerId: $customerId, first: 10) { nodes { id status total restaurantId } totalCount } }`,
  Cancel: `mutation Cancel($orderId: ID!, $commandId: ID) {
  cancelOrder(orderId: $orderId, reason: "cancelled on the web page", commandId: $commandId) { position }
}`,
  Approve: `mutation Approve($orderId: ID!, $commandId: ID) { approveOrder(orderId: $orderId, commandId: $commandId) { position } }`,
});
