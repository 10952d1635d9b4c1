export function total(items) {
  const cents = items.reduce((sum, i) => sum + i.qty * i.cents, 0);
  return `€${(cents / 100).toFixed(2)}`;
}
