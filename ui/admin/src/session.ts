import { reactive } from 'vue'
import { getJson, postJson, request, type Session } from './api'

/** Who is logged in, and why the last session ended (shown on 登录). */
export const session = reactive({
  username: '' as string,
  checked: false,
  endedMessage: '' as string,
})

export async function check(): Promise<boolean> {
  try {
    const me = await getJson<Session>('/admin/api/me')
    session.username = me.username
  } catch {
    session.username = ''
  }
  session.checked = true
  return session.username !== ''
}

export async function login(username: string, password: string): Promise<void> {
  const s = await postJson<Session>('/admin/api/login', { username, password })
  session.username = s.username
  session.endedMessage = ''
  session.checked = true
}

export async function logout(): Promise<void> {
  try {
    await request('POST', '/admin/api/logout')
  } finally {
    session.username = ''
  }
}

export function ended(message: string): void {
  session.username = ''
  session.endedMessage = message
}
