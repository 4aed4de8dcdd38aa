/**
 * The buyer's page in the buyer's language. Milestones are translated by code; a code this table
 * does not know falls back to the server's English label, so a new milestone never shows blank.
 */
export const LANGUAGES = { en: 'English', zh: '中文', th: 'ไทย' } as const
export type Language = keyof typeof LANGUAGES

interface Strings {
  loading: string
  notFound: string
  /** A link that worked once: expired after the journey, revoked or replaced by its sender (410), and too many requests (429). */
  linkExpiredTitle: string
  linkExpired: string
  linkRevokedTitle: string
  linkRevoked: string
  linkReplacedTitle: string
  linkReplaced: string
  busyTitle: string
  busy: string
  waiting: string
  to: (place: string) => string
  payOnDelivery: (amount: string) => string
  paidOnDelivery: (amount: string) => string
  expectedAround: (time: string) => string
  expectedBy: (day: string) => string
  journey: string
  language: string
  /** The map of the last mile: the van far away, the van close by, the delivery, the legend. */
  map: string
  onTheVan: string
  vanArea: string
  vanClose: string
  vanSeen: (time: string) => string
  deliveredHere: string
  yourAddress: string
}

const STRINGS: Record<Language, Strings> = {
  en: {
    loading: 'Loading…',
    notFound: 'We could not find this parcel. Please check the link.',
    linkExpiredTitle: 'This tracking link has expired',
    linkExpired: 'Tracking links stop working some time after a parcel\'s journey has ended. If you still need help with this parcel, please contact the shop you bought from.',
    linkRevokedTitle: 'This tracking link no longer works',
    linkRevoked: 'The sender has switched this link off. Please ask them for a new one.',
    linkReplacedTitle: 'This tracking link has been replaced',
    linkReplaced: 'The sender has made a new link for this parcel. Please use the newest link they sent you.',
    busyTitle: 'Please try again shortly',
    busy: 'We cannot show your parcel right now. Please wait a minute, then reload this page.',
    waiting: 'Waiting for the first update',
    to: (place) => `To ${place}`,
    payOnDelivery: (amount) => `Pay on delivery: ${amount}`,
    paidOnDelivery: (amount) => `Paid on delivery: ${amount}`,
    expectedAround: (time) => `Expected around ${time}`,
    expectedBy: (day) => `Expected by ${day}`,
    journey: 'Parcel journey, newest first',
    language: 'Language',
    map: 'Map of your delivery',
    onTheVan: 'Your parcel is on the van',
    vanArea: 'The van is somewhere in the shaded area',
    vanClose: 'The van is close to you',
    vanSeen: (time) => `Van last seen at ${time}`,
    deliveredHere: 'Delivered here',
    yourAddress: 'Your address'
  },
  zh: {
    loading: '加载中…',
    notFound: '找不到此包裹，请检查链接。',
    linkExpiredTitle: '此跟踪链接已过期',
    linkExpired: '包裹行程结束一段时间后，跟踪链接将停止使用。如仍需要关于此包裹的帮助，请联系您购物的商家。',
    linkRevokedTitle: '此跟踪链接已停用',
    linkRevoked: '发件人已停用此链接。请向发件人索取新的链接。',
    linkReplacedTitle: '此跟踪链接已被替换',
    linkReplaced: '发件人已为此包裹生成新的链接。请使用发件人最新发给您的链接。',
    busyTitle: '请稍后再试',
    busy: '暂时无法显示您的包裹。请等待一分钟后刷新此页面。',
    waiting: '等待第一条更新',
    to: (place) => `寄往 ${place}`,
    payOnDelivery: (amount) => `货到付款：${amount}`,
    paidOnDelivery: (amount) => `已货到付款：${amount}`,
    expectedAround: (time) => `预计 ${time} 左右送达`,
    expectedBy: (day) => `预计 ${day} 前送达`,
    journey: '包裹行程，最新在前',
    language: '语言',
    map: '派送地图',
    onTheVan: '您的包裹已在派送车上',
    vanArea: '派送车在阴影区域内',
    vanClose: '派送车就在您附近',
    vanSeen: (time) => `派送车位置更新于 ${time}`,
    deliveredHere: '在此处签收',
    yourAddress: '您的地址'
  },
  th: {
    loading: 'กำลังโหลด…',
    notFound: 'ไม่พบพัสดุนี้ กรุณาตรวจสอบลิงก์',
    linkExpiredTitle: 'ลิงก์ติดตามพัสดุนี้หมดอายุแล้ว',
    linkExpired: 'ลิงก์ติดตามพัสดุจะหยุดใช้งานหลังจากการจัดส่งสิ้นสุดไประยะหนึ่ง หากยังต้องการความช่วยเหลือเกี่ยวกับพัสดุนี้ กรุณาติดต่อร้านค้าที่คุณสั่งซื้อ',
    linkRevokedTitle: 'ลิงก์ติดตามพัสดุนี้ใช้งานไม่ได้แล้ว',
    linkRevoked: 'ผู้ส่งได้ปิดลิงก์นี้แล้ว กรุณาขอลิงก์ใหม่จากผู้ส่ง',
    linkReplacedTitle: 'ลิงก์ติดตามพัสดุนี้ถูกแทนที่แล้ว',
    linkReplaced: 'ผู้ส่งได้สร้างลิงก์ใหม่สำหรับพัสดุนี้ กรุณาใช้ลิงก์ล่าสุดที่ผู้ส่งส่งให้คุณ',
    busyTitle: 'กรุณาลองใหม่อีกครั้งในอีกสักครู่',
    busy: 'ขณะนี้ยังแสดงข้อมูลพัสดุของคุณไม่ได้ กรุณารอสักหนึ่งนาที แล้วโหลดหน้านี้ใหม่',
    waiting: 'รอการอัปเดตครั้งแรก',
    to: (place) => `ถึง ${place}`,
    payOnDelivery: (amount) => `ชำระเงินปลายทาง: ${amount}`,
    paidOnDelivery: (amount) => `ชำระเงินปลายทางแล้ว: ${amount}`,
    expectedAround: (time) => `คาดว่าจะถึงประมาณ ${time}`,
    expectedBy: (day) => `คาดว่าจะถึงภายใน ${day}`,
    journey: 'เส้นทางพัสดุ ล่าสุดอยู่บนสุด',
    language: 'ภาษา',
    map: 'แผนที่การจัดส่ง',
    onTheVan: 'พัสดุของคุณอยู่บนรถนำส่งแล้ว',
    vanArea: 'รถนำส่งอยู่ในบริเวณที่แรเงา',
    vanClose: 'รถนำส่งอยู่ใกล้คุณแล้ว',
    vanSeen: (time) => `ตำแหน่งรถล่าสุดเมื่อ ${time}`,
    deliveredHere: 'จัดส่งที่นี่',
    yourAddress: 'ที่อยู่ของคุณ'
  }
}

/** Only the codes a buyer can see (the server never sends the others to this page). */
const MILESTONE_LABELS: Record<Language, Record<string, string>> = {
  en: {},
  zh: {
    info_received: '已收到发货信息',
    picked_up: '已从寄件人处揽收',
    received_at_origin: '已到达始发处理中心',
    arrived_at_facility: '已到达转运中心',
    departed_facility: '已离开转运中心',
    handed_to_linehaul: '已交给干线运输',
    handed_to_airline: '已交给航空公司',
    arrived_in_destination_country: '已到达目的国',
    customs_entered: '清关中',
    customs_held: '海关扣留',
    customs_delayed: '清关延误',
    customs_cleared: '已清关',
    handed_to_last_mile: '已交给当地派送公司',
    out_for_delivery: '派送中',
    delivery_attempted: '派送未成功',
    delivered: '已签收',
    cod_collected: '货到付款已支付',
    available_for_pickup: '可以自提',
    returning_to_sender: '正在退回寄件人',
    returned_to_sender: '已退回寄件人',
    refused_by_buyer: '收件人拒收',
    address_problem: '收件地址有问题'
  },
  th: {
    info_received: 'ได้รับข้อมูลการจัดส่งแล้ว',
    picked_up: 'รับพัสดุจากผู้ส่งแล้ว',
    received_at_origin: 'ถึงศูนย์ต้นทางแล้ว',
    arrived_at_facility: 'ถึงศูนย์คัดแยกแล้ว',
    departed_facility: 'ออกจากศูนย์คัดแยกแล้ว',
    handed_to_linehaul: 'ส่งต่อให้รถขนส่งระหว่างเมืองแล้ว',
    handed_to_airline: 'ส่งต่อให้สายการบินแล้ว',
    arrived_in_destination_country: 'ถึงประเทศปลายทางแล้ว',
    customs_entered: 'อยู่ระหว่างพิธีการศุลกากร',
    customs_held: 'ถูกกักที่ศุลกากร',
    customs_delayed: 'พิธีการศุลกากรล่าช้า',
    customs_cleared: 'ผ่านพิธีการศุลกากรแล้ว',
    handed_to_last_mile: 'ส่งต่อให้บริษัทขนส่งในพื้นที่แล้ว',
    out_for_delivery: 'กำลังนำส่ง',
    delivery_attempted: 'นำส่งไม่สำเร็จ',
    delivered: 'จัดส่งสำเร็จแล้ว',
    cod_collected: 'ชำระเงินปลายทางแล้ว',
    available_for_pickup: 'พร้อมให้รับที่จุดรับพัสดุ',
    returning_to_sender: 'กำลังส่งคืนผู้ส่ง',
    returned_to_sender: 'ส่งคืนผู้ส่งแล้ว',
    refused_by_buyer: 'ผู้รับปฏิเสธการรับพัสดุ',
    address_problem: 'ที่อยู่ผู้รับมีปัญหา'
  }
}

/** The first of the browser's languages this page speaks; English otherwise. */
export function pickLanguage (preferred: readonly string[], saved: string | null): Language {
  if (saved !== null && Object.hasOwn(LANGUAGES, saved)) return saved as Language
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0] ?? ''
    if (Object.hasOwn(LANGUAGES, base)) return base as Language
  }
  return 'en'
}

export function strings (language: Language): Strings {
  return STRINGS[language]
}

export function milestoneLabel (language: Language, code: string, english: string): string {
  return MILESTONE_LABELS[language][code] ?? english
}

/** The locale tag for dates, times and amounts. */
export function locale (language: Language): string {
  return { en: 'en', zh: 'zh-CN', th: 'th-TH' }[language]
}
