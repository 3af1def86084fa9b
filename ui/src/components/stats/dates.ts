const pad = (n: number) => String(n).padStart(2, '0')

/** A local date as YYYY-MM-DD, the form the statistics commands read. */
export const ymd = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
