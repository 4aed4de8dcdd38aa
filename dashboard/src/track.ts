import { openLiveSocket } from './live-socket.js'

interface PublicMilestone {
  code: string
  label: string
  time: string
  location: { city: string | null, country: string | null, timezone: string | null } | null
}

interface PublicTracking {
  trackingNumber: string
  status: { code: string, label: string, time: string } | null
  destination: { city: string, country: string }
  cashOnDelivery: { amount: string, currency: string } | null
  eta: Eta | null
  milestones: PublicMilestone[]
}

interface Eta { time: string, basis: 'route' | 'lane' }

type TrackFrame =
  | { type: 'snapshot', tracking: PublicTracking }
  | { type: 'milestones', milestones: PublicMilestone[] }
  | { type: 'eta', eta: Eta }

const token = decodeURIComponent(window.location.pathname.split('/').pop() ?? '')
let tracking: PublicTracking | undefined
const $ = (selector: string): HTMLElement => document.querySelector(selector) as HTMLElement

function render (): void {
  if (tracking === undefined) return
  $('#tracking-number').textContent = tracking.trackingNumber
  $('#status').textContent = tracking.status?.label ?? 'Waiting for the first update'
  $('#destination').textContent = `To ${tracking.destination.city}, ${tracking.destination.country}`
  const { eta } = tracking
  const delivered = tracking.status?.code === 'delivered'
  $('#eta').hidden = eta === null || delivered
  if (eta !== null) {
    const when = new Date(eta.time)
    // a van's route gives a time of day; a lane's history only a day
    $('#eta').textContent = eta.basis === 'route'
      ? `Expected around ${when.toLocaleTimeString(undefined, { timeStyle: 'short' })}`
      : `Expected by ${when.toLocaleDateString(undefined, { dateStyle: 'medium' })}`
  }
  const cod = tracking.cashOnDelivery
  $('#cod').hidden = cod === null
  if (cod !== null) {
    $('#cod').textContent = `Pay on delivery: ${new Intl.NumberFormat(undefined, { style: 'currency', currency: cod.currency }).format(Number(cod.amount))}`
  }
  const items = [...tracking.milestones].reverse().map((milestone) => {
    const item = document.createElement('li')
    const what = document.createElement('strong')
    what.textContent = milestone.label
    const when = document.createElement('time')
    when.dateTime = milestone.time
    when.textContent = new Date(milestone.time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    item.append(what, when)
    const place = [milestone.location?.city, milestone.location?.country].filter((part) => part != null).join(', ')
    if (place !== '') {
      const where = document.createElement('span')
      where.textContent = place
      item.append(where)
    }
    return item
  })
  $('#timeline').replaceChildren(...items)
}

function addMilestones (milestones: PublicMilestone[]): void {
  if (tracking === undefined) return
  const known = new Set(tracking.milestones.map((m) => `${m.code}@${m.time}`))
  const fresh = milestones.filter((m) => !known.has(`${m.code}@${m.time}`))
  tracking.milestones = [...tracking.milestones, ...fresh].sort((a, b) => a.time.localeCompare(b.time))
  const latest = tracking.milestones.at(-1)
  tracking.status = latest === undefined ? null : { code: latest.code, label: latest.label, time: latest.time }
  render()
}

async function main (): Promise<void> {
  const response = await fetch(`/api/track/${encodeURIComponent(token)}`)
  if (!response.ok) {
    $('#status').textContent = 'We could not find this parcel. Please check the link.'
    return
  }
  tracking = await response.json() as PublicTracking
  render()
  openLiveSocket(`/ws/track/${encodeURIComponent(token)}`, {
    onOpen: () => {},
    onMessage: (message) => {
      const frame = message as TrackFrame
      if (frame.type === 'snapshot') {
        tracking = frame.tracking
        render()
      } else if (frame.type === 'eta') {
        if (tracking !== undefined) tracking.eta = frame.eta
        render()
      } else {
        addMilestones(frame.milestones)
      }
    }
  })
}

void main()
