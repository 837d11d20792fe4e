/** Weighted value lists of the demo shop; weights are relative. */
export const cities = {
  values: [
    'Shanghai',
    'Beijing',
    'London',
    'New York',
    'Paris',
    'Berlin',
    'Tokyo',
    'São Paulo',
    'Madrid',
    'Toronto',
    'Sydney',
    'Amsterdam',
  ],
  weights: [18, 15, 11, 10, 8, 7, 7, 6, 5, 5, 4, 4],
} as const

export const genders = { values: ['female', 'male', 'other'], weights: [52, 45, 3] } as const

export const memberships = { values: ['none', 'silver', 'gold', 'platinum'], weights: [60, 25, 11, 4] } as const

/** Purchase propensity multiplier per membership level: members buy more. */
export const membershipBoost: Record<string, number> = { none: 1, silver: 1.4, gold: 1.9, platinum: 2.6 }

export const categories = {
  values: ['electronics', 'fashion', 'beauty', 'home', 'sports', 'books', 'toys', 'grocery'],
  weights: [14, 22, 15, 12, 9, 8, 6, 14],
} as const

/** Price range per category, in the shop currency. */
export const priceRange: Record<string, readonly [number, number]> = {
  electronics: [30, 1500],
  fashion: [10, 300],
  beauty: [5, 150],
  home: [10, 600],
  sports: [10, 400],
  books: [5, 60],
  toys: [5, 120],
  grocery: [2, 80],
}

/** Products per category in the catalogue (product ids `<category-initial><n>`). */
export const productsPerCategory = 200

export const purchaseChannels = { values: ['app', 'web', 'mini_program', 'store'], weights: [50, 28, 15, 7] } as const
export const shareChannels = {
  values: ['wechat', 'whatsapp', 'facebook', 'copy_link', 'email'],
  weights: [35, 25, 20, 15, 5],
} as const
export const coupons = {
  values: ['WELCOME10', 'SPRING15', 'VIP20', 'FREESHIP', 'FLASH30'],
  discount: [10, 15, 20, 8, 30],
  weights: [30, 25, 10, 25, 10],
} as const

/** Relative activity by hour of day (UTC): a lunch bump and an evening peak. */
export const hourWeights = [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 7, 8, 10, 9, 7, 7, 7, 8, 10, 12, 13, 12, 9, 5]

/** Relative activity by weekday, Sunday = 0: weekends are busier. */
export const weekdayWeights = [1.3, 0.9, 0.9, 0.95, 1, 1.15, 1.35]
