export const ITEMS = [
  { sku: 'mug-01', name: 'Coffee mug', qty: 2, cents: 850 },
  { sku: 'tee-02', name: 'T-shirt', qty: 1, cents: 1900 },
];
