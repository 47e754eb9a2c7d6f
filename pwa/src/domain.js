// Reference data the app needs offline. The result list is configurable on the server: a pulled
// visit may carry `result_options [{code, label, problem, no_check}]`; these ten standard categories
// [000#20] are the default.
export const DEFAULT_RESULTS = [
  { code: 'no_problem', label: '未发现问题', problem: false },
  { code: 'not_disclosed', label: '未按规定公示应当公示的信息', problem: true },
  { code: 'false_disclosure', label: '公示信息隐瞒真实情况弄虚作假', problem: true },
  { code: 'unreachable', label: '通过登记的住所（经营场所）无法联系', problem: false, no_check: true },
  { code: 'rectified', label: '发现问题已责令改正', problem: true },
  { code: 'uncooperative', label: '不配合检查情节严重', problem: true, no_check: true },
  { code: 'no_activity', label: '未发现开展本次抽查涉及的经营活动', problem: false },
  { code: 'pending_followup', label: '发现问题待后续处理', problem: true },
  { code: 'qualified', label: '合格', problem: false },
  { code: 'unqualified', label: '不合格', problem: true },
];

export function resultOptions(visit) {
  return (visit && Array.isArray(visit.result_options) && visit.result_options.length)
    ? visit.result_options : DEFAULT_RESULTS;
}

export const FOLLOW_UPS = [
  { code: 'none', label: '无' },
  { code: 'order_rectify', label: '责令改正' },
  { code: 'case_filing', label: '移送办案机构' },
  { code: 'notify_dept', label: '抄告相关部门' },
  { code: 'abnormal_list', label: '列入经营异常名录' },
  { code: 'judiciary', label: '移送司法机关' },
];

// 责令停止 / 责令改正, each written, oral or printed on the mobile device [000#20(二)]
export const MEASURES = [
  { code: 'order_stop', label: '责令停止' },
  { code: 'order_rectify', label: '责令改正' },
];
export const MEASURE_FORMS = [
  { code: 'written', label: '书面' },
  { code: 'oral', label: '口头' },
  { code: 'printed', label: '移动端打印' },
];

// What the visit list shows, computed on the device from the local records and the server's state.
export const VISIT_STATES = {
  todo: '待检查',
  in_progress: '进行中',
  done: '已完成',
  to_sync: '待同步',
  synced: '已同步',
  attention: '需处理',
};

export const REGISTRATION_LABELS = {
  active: '存续（在业）', revoked: '吊销', cancelled: '注销', moved_out: '迁出',
};

export const OBJECT_TYPE_LABELS = {
  enterprise: '企业', individual: '个体工商户', cooperative: '农民专业合作社', other: '其他主体', product: '产品',
  project: '项目',
};
