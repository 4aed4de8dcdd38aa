import { LANGUAGES, locale, milestoneLabel, pickLanguage, strings, type Language } from './i18n.js'
import { openLiveSocket } from './live-socket.js'
import type { BuyerMap } from './buyer-map.js'

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
  destinationPoint: Point | null
  deliveredAt: Point | null
  van: Van | null
}

interface Eta { time: string, basis: 'route' | 'lane' }
interface Point { lat: number, lon: number }
/** Coarse (the centre of a grid cell) until the van is near the buyer, exact from there. */
interface Van extends Point { precise: boolean, time: string }

type TrackFrame =
  | { type: 'snapshot', tracking: PublicTracking }
  | { type: 'milestones', milestones: PublicMilestone[] }
  | { type: 'eta', eta: Eta }
  | { type: 'van', van: Van | null, destinationPoint: Point | null }
  | { type: 'deliveredAt', deliveredAt: Point, destinationPoint: Point | null }

/** Why the page shows no parcel: no such link (404), one that no longer works (410), or a busy moment (429, 5xx). */
type Problem = 'notFound' | 'expired' | 'revoked' | 'replaced' | 'busy'

const token = decodeURIComponent(window.location.pathname.split('/').pop() ?? '')
let tracking: PublicTracking | undefined
let problem: Problem | undefined
const $ = (selector: string): HTMLElement => document.querySelector(selector) as HTMLElement
const SAVED = 'trackstream-language'
let language: Language = pickLanguage(navigator.languages, localStorage.getItem(SAVED))
/** Loaded on the first day there is something to show on it, and kept. */
let buyerMap: Promise<BuyerMap> | undefined

function setUpLanguages (): void {
  const select = $('#language') as HTMLSelectElement
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => new Option(name, code, false, code === language)))
  select.addEventListener('change', () => {
    language = select.value as Language
    localStorage.setItem(SAVED, language)
    render()
  })
  render()
}

function render (): void {
  const t = strings(language)
  const tag = locale(language)
  document.documentElement.lang = tag
  $('#language-label').textContent = t.language
  $('#timeline').setAttribute('aria-label', t.journey)
  if (problem !== undefined) {
    renderProblem(problem)
    return
  }
  if (tracking === undefined) return
  $('#tracking-number').textContent = tracking.trackingNumber
  $('#status').textContent = tracking.status === null ? t.waiting : milestoneLabel(language, tracking.status.code, tracking.status.label)
  $('#destination').textContent = t.to(`${tracking.destination.city}, ${tracking.destination.country}`)
  const { eta } = tracking
  const delivered = tracking.status?.code === 'delivered'
  $('#eta').hidden = eta === null || delivered
  if (eta !== null) {
    const when = new Date(eta.time)
    // a van's route gives a time of day; a lane's history only a day
    $('#eta').textContent = eta.basis === 'route'
      ? t.expectedAround(when.toLocaleTimeString(tag, { timeStyle: 'short' }))
      : t.expectedBy(when.toLocaleDateString(tag, { dateStyle: 'medium' }))
  }
  const cod = tracking.cashOnDelivery
  $('#cod').hidden = cod === null
  if (cod !== null) {
    const amount = new Intl.NumberFormat(tag, { style: 'currency', currency: cod.currency }).format(Number(cod.amount))
    // the driver cannot record a COD parcel delivered without the amount, so delivered means paid
    const paid = tracking.milestones.some((m) => m.code === 'cod_collected' || m.code === 'delivered')
    $('#cod').textContent = paid ? t.paidOnDelivery(amount) : t.payOnDelivery(amount)
  }
  const items = [...tracking.milestones].reverse().map((milestone) => {
    const item = document.createElement('li')
    const what = document.createElement('strong')
    what.textContent = milestoneLabel(language, milestone.code, milestone.label)
    const when = document.createElement('time')
    when.dateTime = milestone.time
    // in the buyer's own time zone: the browser's
    when.textContent = new Date(milestone.time).toLocaleString(tag, { dateStyle: 'medium', timeStyle: 'short' })
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
  renderMap()
}

/** The problem in place of the parcel: a title, and for a link that worked once, what the buyer can do. */
function renderProblem (shown: Problem): void {
  const t = strings(language)
  const words: Record<Problem, [title: string, detail: string]> = {
    notFound: [t.notFound, ''],
    expired: [t.linkExpiredTitle, t.linkExpired],
    revoked: [t.linkRevokedTitle, t.linkRevoked],
    replaced: [t.linkReplacedTitle, t.linkReplaced],
    busy: [t.busyTitle, t.busy]
  }
  const [title, detail] = words[shown]
  $('#status').textContent = title
  $('#notice').textContent = detail
  $('#notice').hidden = detail === ''
  for (const id of ['#tracking-number', '#destination']) $(id).textContent = ''
  for (const id of ['#eta', '#cod', '#delivery-map']) $(id).hidden = true
  $('#timeline').replaceChildren()
}

/** Why a link that worked once no longer does, from the code of the 410 or of the socket's 4410. */
const goneWhy = (code: string | undefined): Problem => code === 'TS_LINK_REVOKED' ? 'revoked' : code === 'TS_LINK_REPLACED' ? 'replaced' : 'expired'

/** What an answer other than 200 means for the buyer. */
async function problemOf (response: Response): Promise<Problem> {
  if (response.status === 410) return goneWhy((await response.json().catch(() => ({})) as { code?: string }).code)
  return response.status === 429 || response.status >= 500 ? 'busy' : 'notFound'
}

/** The map only when there is a van coming or a delivery point; maplibre-gl is not even loaded before. */
function renderMap (): void {
  if (tracking === undefined) return
  const t = strings(language)
  const { van, deliveredAt } = tracking
  const shown = van !== null || deliveredAt !== null
  $('#delivery-map').hidden = !shown
  if (!shown) {
    // keep a map already loaded, but empty, for when the van is back
    void buyerMap?.then((map) => { map.show({ van: null, destination: null, deliveredAt: null }) })
    return
  }
  $('#map').setAttribute('aria-label', t.map)
  $('#map-title').textContent = van !== null ? t.onTheVan : t.deliveredHere
  $('#map-detail').textContent = van === null
    ? ''
    : `${van.precise ? t.vanClose : t.vanArea} · ${t.vanSeen(new Date(van.time).toLocaleTimeString(locale(language), { timeStyle: 'short' }))}`
  $('#map-legend').hidden = tracking.destinationPoint === null
  $('#legend-destination').textContent = t.yourAddress
  buyerMap ??= import('./buyer-map.js').then(async ({ openBuyerMap }) => await openBuyerMap($('#map')))
  // the newest state when the map is ready, not the one of the moment it was asked for
  void buyerMap.then((map) => {
    if (tracking === undefined) return
    const showing = tracking.van !== null || tracking.deliveredAt !== null
    map.show({ van: tracking.van, destination: showing ? tracking.destinationPoint : null, deliveredAt: tracking.deliveredAt })
  })
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
  setUpLanguages()
  const response = await fetch(`/api/track/${encodeURIComponent(token)}`)
  if (!response.ok) {
    problem = await problemOf(response)
    render()
    return
  }
  tracking = await response.json() as PublicTracking
  render()
  openLiveSocket(`/ws/track/${encodeURIComponent(token)}`, {
    onOpen: () => {},
    // the server closes the page of a link revoked or replaced meanwhile (4410), and refuses it on reconnecting
    onRefused: (code, reason) => {
      if (code !== 4404 && code !== 4410) return false
      problem = code === 4404 ? 'notFound' : goneWhy(reason)
      tracking = undefined
      render()
      return true
    },
    onMessage: (message) => {
      const frame = message as TrackFrame
      if (frame.type === 'snapshot') {
        tracking = frame.tracking
        render()
      } else if (frame.type === 'eta') {
        if (tracking !== undefined) tracking.eta = frame.eta
        render()
      } else if (frame.type === 'van' || frame.type === 'deliveredAt') {
        if (tracking === undefined) return
        if (frame.type === 'van') tracking.van = frame.van
        else tracking.deliveredAt = frame.deliveredAt
        // the buyer's own point comes with the first van of the day; a later null does not take it back
        tracking.destinationPoint = frame.destinationPoint ?? tracking.destinationPoint
        renderMap()
      } else {
        addMilestones(frame.milestones)
      }
    }
  })
}

void main()
