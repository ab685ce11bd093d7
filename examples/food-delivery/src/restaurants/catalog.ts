import type { PricedItem, RequestedItem } from '../domain/order-messages';

export interface MenuItem {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
}

export interface Restaurant {
  readonly id: string;
  readonly name: string;
  readonly cuisine: string;
  readonly menu: readonly MenuItem[];
}

/**
 * The demo's restaurants. Menus are reference data this workflow reads but never changes, so they are
 * seed data in code rather than an aggregate with its own events: they are there the moment the app
 * starts, on any store, and the validation reactor stays a pure function of (event, catalog) — which is
 * what lets `verifyReactor` replay it in any order. A real app would give menus their own aggregate and
 * projection; a menu change must then not alter orders already validated (they carry their prices).
 */
export const RESTAURANTS: readonly Restaurant[] = [
  {
    id: 'trattoria-roma',
    name: 'Trattoria Roma',
    cuisine: 'Italian',
    menu: [
      { id: 'margherita', name: 'Pizza Margherita', priceCents: 950 },
      { id: 'diavola', name: 'Pizza Diavola', priceCents: 1150 },
      { id: 'carbonara', name: 'Spaghetti Carbonara', priceCents: 1250 },
      { id: 'tiramisu', name: 'Tiramisù', priceCents: 650 },
    ],
  },
  {
    id: 'tokyo-ramen',
    name: 'Tokyo Ramen Bar',
    cuisine: 'Japanese',
    menu: [
      { id: 'shoyu-ramen', name: 'Shoyu Ramen', priceCents: 1390 },
      { id: 'tonkotsu-ramen', name: 'Tonkotsu Ramen', priceCents: 1490 },
      { id: 'gyoza', name: 'Gyoza (6)', priceCents: 690 },
      { id: 'matcha-ice', name: 'Matcha Ice Cream', priceCents: 490 },
    ],
  },
  {
    id: 'green-bowl',
    name: 'The Green Bowl',
    cuisine: 'Vegan',
    menu: [
      { id: 'buddha-bowl', name: 'Buddha Bowl', priceCents: 1190 },
      { id: 'falafel-wrap', name: 'Falafel Wrap', priceCents: 890 },
      { id: 'lemonade', name: 'Mint Lemonade', priceCents: 390 },
    ],
  },
  {
    id: 'caviar-house',
    name: 'Caviar House',
    cuisine: 'Luxury',
    // One dish over the demo card limit, to see a declined payment from the page.
    menu: [
      { id: 'beluga-tin', name: 'Beluga Caviar (250 g)', priceCents: 125_000 },
      { id: 'blinis', name: 'Blinis', priceCents: 900 },
    ],
  },
];

const byId = new Map(RESTAURANTS.map((restaurant) => [restaurant.id, restaurant]));

export function findRestaurant(restaurantId: string): Restaurant | undefined {
  return byId.get(restaurantId);
}

export type PricingResult =
  | { readonly ok: true; readonly items: PricedItem[]; readonly totalCents: number }
  | { readonly ok: false; readonly reason: string };

/** Checks requested items against a restaurant's menu and prices them. Pure. */
export function priceOrder(restaurantId: string, requested: readonly RequestedItem[]): PricingResult {
  const restaurant = findRestaurant(restaurantId);
  if (!restaurant) return { ok: false, reason: `unknown restaurant "${restaurantId}"` };
  const unknown = requested.filter((item) => !restaurant.menu.some((menuItem) => menuItem.id === item.menuItemId));
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((item) => `"${item.menuItemId}"`))].join(', ');
    return { ok: false, reason: `not on the menu of ${restaurant.name}: ${names}` };
  }
  const items = requested.map((item) => {
    const menuItem = restaurant.menu.find((candidate) => candidate.id === item.menuItemId)!;
    return { menuItemId: menuItem.id, name: menuItem.name, unitPriceCents: menuItem.priceCents, quantity: item.quantity };
  });
  return { ok: true, items, totalCents: items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0) };
}
