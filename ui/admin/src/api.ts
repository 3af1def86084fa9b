// The console's calls to its city server: same origin, the session cookie, and the header
// X-Xinfang-Admin on every request (the server refuses a session request without it: a page of
// another site cannot send it, docs/security.md). A 401 ends the session in the page.

export class ApiFailure extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message)
  }
}

type Listener = (message: string) => void
const listeners: Listener[] = []

/** Called when the server says the session is gone (expired, logged out elsewhere). */
export function onSessionEnded(l: Listener): void {
  listeners.push(l)
}

async function failure(resp: Response): Promise<ApiFailure> {
  let code = 'http_' + resp.status
  let message = `服务器返回错误（${resp.status}），请稍后重试。`
  try {
    const body = await resp.json()
    if (typeof body?.message === 'string') message = body.message
    if (typeof body?.code === 'string') code = body.code
  } catch {
    // Not our JSON (a proxy's page): keep the general message.
  }
  return new ApiFailure(resp.status, code, message)
}

export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  let resp: Response
  try {
    resp = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        'X-Xinfang-Admin': '1',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiFailure(0, 'network', '无法连接市局服务器：请检查网络后重试。')
  }
  if (!resp.ok) {
    const f = await failure(resp)
    // Login, logout and the start-up check (/admin/api/*) answer 401 as part of their job.
    if (resp.status === 401 && !path.startsWith('/admin/api/')) {
      const msg = f.code === 'session_expired' ? '登录已过期，请重新登录。' : '请先登录。'
      listeners.forEach((l) => l(msg))
    }
    throw f
  }
  return resp
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request('GET', path)).json() as Promise<T>
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await request('POST', path, body)).json() as Promise<T>
}

// ---- Shapes (docs/openapi.yaml) ----

export interface Session {
  username: string
  idle_secs: number
  max_secs: number
}

export interface HallCounts {
  hall_code: string
  hall_name: string
  visitors: number
  visits: number
  matters: number
  devices: number
  changes: number
}
export interface CityCounts {
  halls: HallCounts[]
  total_visitors: number
  total_visits: number
  total_matters: number
}

export interface DeviceOverview {
  id: string
  hall_code: string
  hall_name: string
  name: string
  kind: 'desk' | 'hub'
  enrolled_at: string
  revoked_at: string | null
  last_contact_at: string | null
  changes: number
  set_aside: number
}

export interface EnrolCode {
  code: string
  hall_code: string
  hall_name: string
  kind: 'desk' | 'hub'
  expires_at: number
}

export interface CityRate {
  numerator: number
  denominator: number
  percent: number | null
}
export interface HallStats {
  hall_code: string
  hall_name: string
  visits: number
  people: number
  first_visits: number
  repeat_visits: number
  group_visits: number
  matters_received: number
  overdue_matters: number
  timely_acceptance: CityRate
  on_time_conclusion: CityRate
  participation: CityRate
  satisfaction: CityRate
}
export interface CityCount {
  key: string
  label: string
  count: number
}
export interface CityStats {
  from: string
  to: string
  as_of: string
  halls: HallStats[]
  total: HallStats
  by_appeal_kind: CityCount[]
  by_category: CityCount[]
  by_month: CityCount[]
}

export interface AuditBreak {
  seq: number
  reason: string
  source: string
  detected_at: string
  attempts: number
}
export interface DeviceAuditChain {
  device_id: string
  device_name: string
  hall_code: string
  hall_name: string
  entries: number
  last_seq: number
  last_at: string | null
  status: string
  breaks: AuditBreak[]
}
export interface AuditChains {
  devices: DeviceAuditChain[]
  broken: number
}

export interface PublicityFigures {
  events: number
  units: number
  leaflets: number
  consulted: number
  reached: number
  posts: number
}
export interface HallPublicity {
  hall_code: string
  hall_name: string
  figures: PublicityFigures
}
export interface CityPublicity {
  from: string
  to: string
  total: HallPublicity
  halls: HallPublicity[]
}

export interface RepeatVisit {
  hall_code: string
  hall_name: string
  visit_id: string
  visited_at: string
  category_code: string
}
export interface RepeatVisits {
  id_number: string
  halls: string[]
  visits: RepeatVisit[]
}
