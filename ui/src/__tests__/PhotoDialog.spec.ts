import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import PhotoDialog from '../components/register/PhotoDialog.vue'
import { useSessionStore } from '../stores/session'
import RegisterView from '../views/RegisterView.vue'
import { clerkSession, reference, setup, tick } from './helpers'

// The webcam is getUserMedia's: a fake stream here (jsdom has no camera, no video and no
// canvas), whose frame is "drawn" into a JPEG data URL the canvas stub returns.
const JPEG_B64 = '/9j/4AAQSkZJRgABAQAAAQABAAD/2Q=='
const q = (name: string) => `[data-testid="${name}"]`

let stopped = 0
let drawn: { width: number; height: number }[] = []

function fakeStream() {
  const track = { stop: () => stopped++, kind: 'video' }
  return { getTracks: () => [track] } as unknown as MediaStream
}

function camera(getUserMedia: (c: MediaStreamConstraints) => Promise<MediaStream>) {
  Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia: vi.fn(getUserMedia) }, configurable: true })
  return navigator.mediaDevices.getUserMedia as ReturnType<typeof vi.fn>
}

beforeEach(() => {
  stopped = 0
  drawn = []
  vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined)
  // A 640 × 480 camera picture.
  vi.spyOn(HTMLVideoElement.prototype, 'videoWidth', 'get').mockReturnValue(640)
  vi.spyOn(HTMLVideoElement.prototype, 'videoHeight', 'get').mockReturnValue(480)
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (this: HTMLCanvasElement) {
    const { width, height } = this
    return { drawImage: () => drawn.push({ width, height }) } as never
  })
  vi.spyOn(HTMLCanvasElement.prototype, 'toDataURL').mockImplementation((type?: string, quality?: unknown) => {
    expect([type, quality]).toEqual(['image/jpeg', 0.7])
    return `data:image/jpeg;base64,${JPEG_B64}`
  })
})
afterEach(() => {
  vi.restoreAllMocks()
  clearMocks()
  Reflect.deleteProperty(navigator, 'mediaDevices')
})

function mountDialog() {
  const { plugins } = setup()
  return mount(PhotoDialog, { props: { modelValue: true }, global: { plugins }, attachTo: document.body })
}

const inBody = (name: string) => document.body.querySelector<HTMLElement>(q(name))

describe('PhotoDialog', () => {
  it('shows the camera, takes a small JPEG, retakes, and hands the chosen one over', async () => {
    const gum = camera(async () => fakeStream())
    const w = mountDialog()
    await tick()
    await tick()
    // The camera only, never the microphone.
    expect(gum).toHaveBeenCalledTimes(1)
    expect(gum.mock.calls[0][0]).toMatchObject({ audio: false })
    expect(gum.mock.calls[0][0].video).toBeTruthy()
    inBody('photo-take')!.click()
    await tick()
    // 320 px wide, the camera's proportions.
    expect(drawn).toEqual([{ width: 320, height: 240 }])
    expect(inBody('photo-preview')?.getAttribute('src')).toBe(`data:image/jpeg;base64,${JPEG_B64}`)
    // 重拍: back to the live picture, then another photo.
    inBody('photo-retake')!.click()
    await tick()
    expect(inBody('photo-preview')).toBeNull()
    inBody('photo-take')!.click()
    await tick()
    inBody('photo-use')!.click()
    await tick()
    expect(w.emitted('taken')).toEqual([[JPEG_B64]])
    expect(w.emitted('update:modelValue')).toEqual([[false]])
    // Closed: the camera is let go.
    await w.setProps({ modelValue: false })
    await tick()
    expect(stopped).toBe(1)
    w.unmount()
  })

  it('says in Chinese when there is no camera, when it is refused, and when it is busy', async () => {
    const cases: [string, string][] = [
      ['NotFoundError', '未找到摄像头'],
      ['NotAllowedError', '摄像头被拒绝使用'],
      ['NotReadableError', '其他程序'],
    ]
    for (const [name, text] of cases) {
      camera(async () => {
        throw new DOMException('no', name)
      })
      const w = mountDialog()
      await tick()
      await tick()
      const error = inBody('photo-error')
      expect(error?.textContent).toContain(text)
      expect(error?.textContent).toContain('不拍照继续登记')
      expect(error?.textContent).not.toMatch(/[A-Za-z]{4,}/)
      expect(inBody('photo-take')).toBeNull()
      expect(inBody('photo-retry')).not.toBeNull()
      w.unmount()
    }
    // A webview without getUserMedia at all.
    Reflect.deleteProperty(navigator, 'mediaDevices')
    const w = mountDialog()
    await tick()
    expect(inBody('photo-error')?.textContent).toContain('未找到摄像头')
    w.unmount()
  })
})

describe('RegisterView with a photo', () => {
  it('keeps the photo with the visit once it is saved, and registers without one as before', async () => {
    camera(async () => fakeStream())
    const calls: { cmd: string; args: Record<string, unknown> }[] = []
    let n = 0
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> })
      if (cmd === 'register_visit') {
        n++
        return {
          registered: { visit_id: `v${n}`, visitor_ids: [`p${n}`], repeat_of: [], queue_no: n, queue_label: `${n}`, matter_id: 'm1', skip_level: { flagged: false } },
          warnings: [],
        }
      }
      if (cmd === 'save_visit_photo') return { visit_id: 'v1', visited_at: '', taken_at: '', jpeg: JPEG_B64 }
      return []
    })
    const { plugins } = setup()
    const s = useSessionStore()
    s.session = clerkSession as never
    s.reference = reference as never
    const w = mount(RegisterView, { global: { plugins }, attachTo: document.body })
    await w.find(q('take-photo')).trigger('click')
    await tick()
    await tick()
    inBody('photo-take')!.click()
    await tick()
    inBody('photo-use')!.click()
    await tick()
    expect(w.find(q('register-photo')).attributes('src')).toBe(`data:image/jpeg;base64,${JPEG_B64}`)
    await w.find(q('register-submit')).trigger('click')
    await tick()
    await tick()
    const saved = calls.filter((c) => c.cmd === 'save_visit_photo')
    expect(saved.map((c) => c.args)).toEqual([{ visitId: 'v1', visitorId: 'p1', jpeg: JPEG_B64 }])
    expect(w.find(q('photo-note')).text()).toContain('照片已随登记保存')
    // The next visitor starts without the last one's photo.
    expect(w.find(q('register-photo')).exists()).toBe(false)
    await w.find(q('register-submit')).trigger('click')
    await tick()
    await tick()
    expect(calls.filter((c) => c.cmd === 'register_visit')).toHaveLength(2)
    expect(calls.filter((c) => c.cmd === 'save_visit_photo')).toHaveLength(1)
    w.unmount()
  })
})
