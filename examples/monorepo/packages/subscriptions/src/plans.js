import { formatPrice } from './pricing';

const PLANS = [
  { id: 'basic', name: 'Basic', cents: 499 },
  { id: 'pro', name: 'Pro', cents: 1499 },
  { id: 'team', name: 'Team', cents: 4999 },
];

export function listPlans() {
  return PLANS.map((p) => `${p.name} — ${formatPrice(p.cents)} / month`);
}
