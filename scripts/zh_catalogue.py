"""Write app/translations/zh_Hans_CN/LC_MESSAGES/messages.po from the extracted template and the table below.

    pybabel extract -F babel.cfg -o /tmp/messages.pot . && python scripts/zh_catalogue.py /tmp/messages.pot

Message ids are English; a message missing here is reported and left untranslated.
"""
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ZH = {
    "Counter {n}": "{n}号窗口", "Counter console": "窗口工作台", "Change counter": "换窗口",
    "Open counter": "开窗", "Close counter": "关窗", "Call next": "叫号", "Recall": "重呼", "Start service": "开始办理",
    "Finish": "办结", "No-show": "过号", "Transfer": "转移", "Next in line": "待叫号", "Service": "业务",
    "Waited": "已等", "Transfer to": "转移到", "Counter": "窗口", "any counter": "任一窗口", "Cancel": "取消",
    "Choose your counter": "请选择您的窗口", "No hall chosen: add ?hall=<id> to the address.":
    "未选择营业厅：请在地址后加 ?hall=<编号>。", "Hall display": "叫号大屏", "Connection": "连接",
    "Now calling": "正在叫号", "Waiting": "排队中", "Estimated wait": "预计等待", "Recent calls": "最近叫号",
    "Tap to enable sound": "点击开启语音播报", "Ticket": "排队号", "Queue status": "排队进度",
    "ahead of you": "前面人数", "estimated wait": "预计等待", "Leave the queue": "不排了，取消排队",
    "This ticket was not found. It may be from another day.": "找不到这张排队票，可能不是今天的。",
    "Hall queue": "营业厅排队", "No one waiting": "暂无等候客户", "No current ticket": "当前无客户",
    "waited {m} min": "已等 {m} 分钟", "This counter is closed": "本窗口暂停服务", "Reconnecting…": "正在重新连接…",
    "Done": "完成", "called": "已叫号", "serving": "办理中", "recalled {n}×": "已重呼 {n} 次",
    "{n} waiting for this counter": "本窗口可办理的等候 {n} 人", "Star": "星级", "VIP": "VIP",
    "Green channel": "绿色通道", "{n} waiting": "等候 {n} 人", "about {m} min": "约 {m} 分钟",
    "no counter open": "暂无窗口", "Closed": "暂停服务", "Open": "空闲", "recall": "重呼", "Counters": "窗口",
    "Please wait": "请稍候", "Wrong username or password": "用户名或密码错误", "min": "分钟",
    "no counter open yet": "暂无窗口开放", "Please go to counter {n} now": "请到{n}号窗口办理",
    "Being served at counter {n}": "正在{n}号窗口办理", "Thank you for your visit": "感谢您的光临",
    "Your number was passed. Please take a new ticket.": "您的号码已过号，请重新取号。",
    "You left the queue": "您已取消排队", "Leave the queue? Your number will be given up.": "确定不排了吗？号码将作废。",
    "Called again ({n})": "第 {n} 次重呼", "Please choose a service": "请选择业务", "no counter open now": "暂无窗口开放",
    "Mobile number (optional)": "手机号码（可不填）",
    "Only used to tell you about your turn and to ask, by SMS, how we served you. Not shared, not used for marketing.":
    "仅用于本次排队提醒和服务满意度短信，不向他人提供，不用于营销。",
    "Skip": "跳过", "Take ticket": "取号", "Back": "返回", "Clear": "清除",
    "Please enter an 11-digit mobile number, or skip": "请输入 11 位手机号码，或点“跳过”",
    "Priority (floor guide)": "优先取号（大堂经理）", "Floor guide: enter the PIN": "大堂经理：请输入授权码",
    "Star customer": "星级客户", "Green channel (elderly, disabled, pregnant)": "绿色通道（老人、残障、孕妇）",
    "A shorter way": "更快的办理方式", "Take a ticket anyway": "仍然取号", "I will use self-service": "去自助终端办理",
    "The wait for {service} is about {m} min.": "{service}目前约需等待 {m} 分钟。", "Your ticket": "您的排队号",
    "{n} ahead of you": "前面还有 {n} 人", "Scan to follow your turn on your phone": "微信或相机扫码，手机上查看排队进度",
    "Ticket printed. Please take it.": "排队票已打印，请取票。", "The printer has a problem:": "打印机故障：",
    "Please take a photo of this screen or scan the code.": "请拍下本屏幕或扫码保存号码。", "Issued at": "取号时间",
    "This kiosk is not registered. Open the link given when the device was registered.":
    "本取号机尚未登记，请打开设备登记时给出的链接。",
    "This screen is not registered. Open the link given when the device was registered.":
    "本屏幕尚未登记，请打开设备登记时给出的链接。",
    "The hall is closed now.": "营业厅现已停止营业。", "Sorry, something went wrong:": "抱歉，出错了：",
    "wait shown when a counter opens": "窗口开放后显示等待时间", "Take a number": "自助取号",
    "Hall queue and satisfaction": "营业厅排队与满意度系统",
    "China Mobile service hall · Queue and satisfaction": "中国移动营业厅 · 排队与满意度系统",
    "Hello, %(name)s": "您好，%(name)s", "Sign out": "退出", "Staff sign-in": "员工登录", "Screens": "屏幕与终端",
    "Kiosks and hall displays open their page once with the link given when the device was registered: "
    "%(kiosk)s, %(display)s.": "取号机和叫号大屏用设备登记时给出的链接打开一次即可：%(kiosk)s，%(display)s。",
    "API": "接口", "Sign in": "登录", "Username": "用户名", "Password": "密码",
    "This page updates by itself. Keep it open; your phone will vibrate when you are called.":
    "本页自动更新，请保持打开；叫到您时手机会振动。",
    # the hall manager's live page (app/web/manager.py)
    "Hall manager live page": "大堂经理实时看板", "Hall": "营业厅", "Start": "首页", "Not allowed": "无权访问",
    "Back to the start page": "返回首页", "Choose a hall": "请选择营业厅", "Hall load": "厅内忙闲",
    "People inside now": "当前厅内人数", "In today": "今日进店", "Out today": "今日离店", "Waiting now": "当前等候",
    "Open counters": "开放窗口", "Door counts today, per 15 minutes": "今日客流（每 15 分钟）", "People in": "进店人数",
    "People inside": "厅内人数", "Busy line": "忙碌线", "Door sensors": "客流传感器",
    "Download hourly door counts, last %(n)s days (CSV for Excel)": "下载近 %(n)s 天每小时客流（CSV，可用 Excel 打开）",
    "Services": "业务", "State": "状态", "Current ticket": "当前号码", "Busy": "忙", "Normal": "正常", "Idle": "闲",
    "; ": "；", "{n} people inside, at or above {limit}": "厅内 {n} 人，达到 {limit} 人的忙碌线",
    "{n} waiting per open counter on average (busy from {limit})": "每个开放窗口平均 {n} 人等候（{limit} 人起为忙）",
    "{n} waiting and no counter open": "{n} 人等候，但没有开放的窗口",
    "{n} people inside, {limit} or fewer": "厅内 {n} 人，不超过 {limit} 人",
    "at most one waiting per open counter": "每个开放窗口等候不超过 1 人", "no one waiting": "无人等候",
    "{n} people inside (busy from {busy}, quiet up to {idle})": "厅内 {n} 人（{busy} 人起为忙，{idle} 人及以下为闲）",
    "no door counter: judged by the queue alone": "未装客流计数器，仅按排队情况判断", "no door counter": "未装客流计数器",
    "Camera": "摄像头", "Infrared": "红外", "No report for over 10 minutes: check this sensor": "超过 10 分钟未上报，请检查设备",
    "{name}: no report for over 10 minutes": "{name}超过 10 分钟未上报", "in {i} · out {o}": "进 {i} · 出 {o}",
    "last report {t}": "最后上报 {t}", "never reported": "从未上报", "retired": "已停用",
    "not in the hall's totals": "不计入全厅人数", "working": "正常上报", "No door counts yet today": "今日暂无客流数据",
    "busy from {n}": "{n} 人起为忙",
    "{from}–{to}: {in} in, {out} out, {inside} inside": "{from}–{to}：进 {in}，出 {out}，厅内 {inside}",
    "Updated {t}": "更新于 {t}", "You are signed out. Sign in again to keep this page live.": "您已退出登录，请重新登录以继续实时更新。",
    "Door counts could not be loaded ({why}).": "客流数据加载失败（{why}）。",
    "This page is for hall managers, head office and administrators.": "本页面仅供大堂经理、省公司和管理员使用。",
    "You may not see this hall's live page.": "您无权查看该营业厅的实时看板。", "There is no such hall.": "没有这个营业厅。",
    # the manager's page: waits against targets, forecast and counter plan, peak warnings (app/web/manager.py)
    "Target": "目标", "target {m} min": "目标 {m} 分钟", "over the {m} min target": "超过 {m} 分钟的目标",
    "Arrivals: forecast and actual": "取号客流：预测与实际", "Day": "日期", "Today": "今天", "Tomorrow": "明天",
    "Forecast again": "重新预测", "Likely range (p10–p90)": "可能范围（p10–p90）", "Forecast (median)": "预测值（中位数）",
    "Tickets taken": "实际取号", "Now": "现在", "Counters: recommended and open": "窗口：建议与实开",
    "Planned counters": "排班窗口数", "Needed for the upper forecast (p90)": "按预测上限（p90）需要",
    "Open now": "现开窗口", "Fewer open than needed": "开放不足", "No forecast yet": "暂无预测", "Forecast now": "立即预测",
    "Counter plan": "窗口排班建议", "Peak need": "峰值需要窗口", "Counter-hours": "窗口工时",
    "No counter plan for this day": "该日暂无窗口排班建议",
    "The forecast could not be loaded ({why}).": "预测数据加载失败（{why}）。", "Forecasting…": "正在预测…",
    "Forecast made {t}": "预测于 {t}", "arrivals per {m} min": "每 {m} 分钟取号人数", "counters": "窗口数",
    "{from}–{to}: forecast {p50} (likely {p10}–{p90}), mean {mean}": "{from}–{to}：预测 {p50} 人（可能 {p10}–{p90}），均值 {mean}",
    "actual {n}": "实际 {n}", "needed {n}": "需要 {n} 个窗口", "planned {n}": "排班 {n} 个窗口", "open now {n}": "现开 {n} 个",
    "Counter {n}: {from}–{to}": "{n}号窗口：{from}–{to}", "{h} h": "{h} 小时", ", ": "，",
    "nightly": "夜间自动预测", "made by hand": "手动预测", "updated today": "日内已修正",
    "Peak warnings": "客流高峰预警", "No warnings: queues are within target.": "暂无预警：各业务等候均在目标内。",
    "Forecast": "预测", "Live": "实时", "Warning": "预警", "Critical": "严重",
    "raised {t}": "{t} 发出", "updated {t}": "{t} 更新", "Acknowledge": "确认", "Acknowledging…": "正在确认…",
    "Acknowledged": "已确认", "by {who} at {t}": "{who} · {t}", "at {t}": "{t}", "Not acknowledged yet": "尚未确认",
    "staff #{n}": "员工 #{n}", "Warnings could not be loaded ({why}).": "预警加载失败（{why}）。",
    "{n} standing": "{n} 条", "Not done: {why}": "操作未完成：{why}",
    # head office's table of every hall (app/web/manager.py overview)
    "All halls": "全部营业厅", "All halls at a glance: queues and warnings": "全部营业厅一览：排队与预警",
    "queues and peak warnings": "排队与客流高峰预警", "Only halls with warnings": "只看有预警的营业厅",
    "Region": "区域", "City": "城市", "Warnings": "预警", "Not acknowledged": "未确认",
    "What the warnings say": "预警内容",
    "{halls} halls · {warned} with warnings · {critical} critical": "共 {halls} 个营业厅 · {warned} 个有预警 · {critical} 个严重",
    "The overview could not be loaded ({why}).": "营业厅一览加载失败（{why}）。", "No hall matches.": "没有符合条件的营业厅。",
    "This page is for head office and administrators.": "本页面仅供省公司和管理员使用。",
    # the survey pages: the SMS outbox, follow-up cases, kept replies
    "Follow-up cases": "回访工单", "Satisfaction surveys": "满意度短信", "SMS outbox": "短信发件箱",
    "low ratings and complaints, first response within the deadline": "低分评价与投诉，须在时限内首次回访",
    "Cases": "工单", "Overdue": "已超时", "Kept replies": "留存回复", "Staff": "营业员", "Score": "评分",
    "Comment": "意见", "Mobile": "手机号码", "Opened": "开单时间", "Due": "回访时限", "Time left": "剩余时间",
    "Action": "处理", "No cases here.": "暂无工单。",
    "Replies that did not count as a rating are kept, never dropped: late ones (after the survey expired), "
    "unmatched ones (no survey sent to that number) and comments.":
    "未计入评分的回复一律留存、不丢弃：逾期回复（调查已过期）、未匹配回复（该号码没有已发送的调查）和意见。",
    "Show": "显示", "late, unmatched and comments": "逾期、未匹配和意见", "late": "逾期", "unmatched": "未匹配",
    "comments": "意见", "every reply": "全部回复", "Received": "收到时间", "Reply": "回复内容", "Outcome": "处理结果",
    "Survey": "调查", "answer a survey as the customer": "以客户身份回复满意度短信",
    "With no real SMS gateway (SMS_GATEWAY=outbox) the survey messages are kept here. Answer one as its customer "
    "would: the reply is read, counted and followed up exactly like one through a gateway.":
    "未接入真实短信网关时（SMS_GATEWAY=outbox），满意度短信保存在这里。可以客户身份回复：回复的识别、计分和回访与经网关收到的完全相同。",
    "No SMS in the outbox yet.": "发件箱暂无短信。", "Send as the customer": "以客户身份回复", "Sending…": "正在发送…",
    "Type a reply first": "请先输入回复内容", "To {to}": "发往 {to}", "Reply “{text}”: {outcome}": "回复“{text}”：{outcome}",
    "Not sent: {why}": "未发送：{why}", "no survey": "无对应调查", "Due soon": "即将超时", "Responded": "已回访",
    "Responded late": "超时回访", "{t} left": "剩余 {t}", "overdue by {t}": "已超时 {t}", "{h} h {m} min": "{h} 小时 {m} 分",
    "{m} min": "{m} 分钟", "First response": "记录首次回访", "Awaiting response": "待回访", "Case closed": "已结案",
    "Open cases": "待处理", "Closed cases": "已结案", "Saving…": "正在保存…", "first response {t}": "已首次响应 {t}",
    "Close the case": "结案", "Closing…": "正在结案…", "What was done": "处理结果（必填）",
    "Say what was done for the customer.": "请填写为客户做了什么。", "closed {t}": "{t} 结案", "low rating": "低分",
    "complaint": "投诉", "No kept replies.": "暂无留存回复。", "Choose a hall to see its kept replies.": "请选择营业厅查看其留存回复。",
    "{n} cases · {overdue} overdue": "共 {n} 件 · {overdue} 件超时", "counted": "已计入评分",
    "duplicate, not counted again": "重复评价，不重复计分", "late, kept": "逾期回复，已留存",
    "no survey matched, kept": "未匹配到调查，已留存", "opted out": "已退订", "comment kept": "意见已记录",
    "empty": "空白回复", "to be sent": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
    "not sent": "未发送", "score {score}": "{score} 分", "satisfied": "满意", "not satisfied": "不满意",
    "not rated yet": "尚未评价", "comment: {c}": "意见：{c}", "Could not be loaded ({why}).": "加载失败（{why}）。",
    "You may not see this hall's surveys.": "无权查看该营业厅的满意度调查。",
    "This page is for hall managers and administrators.": "本页面仅供大堂经理和管理员使用。",
    # the satisfaction report pages
    "Satisfaction reports": "满意度报表",
    "No hall chosen: these are the replies that reached no hall (sent from numbers no survey went to). Choose a hall above to see its own.":
    "未选择营业厅：以下是未能对应到任何营业厅的回复（来自未发送过调查短信的号码）。在上方选择营业厅可查看该厅的回复。",
    "Stored reports": "报表文件", "made by the scheduler: daily each morning, weekly on Mondays, monthly on the 1st":
    "系统自动生成：每天早上出日报，每周一出周报，每月1日出月报", "Kind": "类型", "All": "全部", "Period": "期间", "File": "文件",
    "Size": "大小", "Made (Beijing time)": "生成时间（北京时间）",
    "No stored reports yet: the first daily one is made tomorrow morning (05:17, Beijing time).":
    "暂无报表文件：第一份日报将于明早（北京时间05:17）生成。",
    "Earlier": "上一期", "Later": "下一期", "Go to": "跳到", "Download": "下载",
    "Where in the organisation": "组织层级", "Figures": "指标", "Satisfaction rate": "满意率",
    "Average score": "平均分", "1 best, 4 worst": "1 最好，4 最差", "5 best": "5 最好",
    "Score index (0-100)": "满意指数（0-100）", "Ratings": "评价数", "Response rate": "回复率",
    "%(n)s surveys sent": "已发送调查 %(n)s 条", "Regions": "省区", "Cities": "城市", "Halls": "营业厅",
    "Staff members": "营业员", "satisfaction rate, best first": "按满意率排名", "Break down by": "分类",
    "Click a name to see what is under it.": "点击名称查看下一级。", "Rank": "排名", "Name": "名称",
    "Satisfied": "满意数", "Score index": "满意指数", "Surveys sent": "发送数",
    "Nothing to show for this period.": "本期没有数据。",
    "Halls use different scales: compare the satisfaction rate and the score index (0-100), not the average score.":
    "各营业厅的评分制不同：请比较满意率和满意指数（0-100），不要比较平均分。",
    "Satisfaction by waiting time": "等候时长与满意度",
    "How much a long wait costs: the share of satisfied customers for each waiting time, from taking the number to being called.":
    "等得越久越不满意：按等候时长（取号到叫号）统计的满意率。",
    "Satisfaction rate by day": "每日满意率",
    "The line is the day's satisfaction rate (its axis does not start at 0); the light bars are the number of ratings.":
    "折线为每日满意率（纵轴不从0开始）；浅色柱为当日评价数。",
    "You may see only your own hall's reports.": "您只能查看本厅的报表。",
    "There is no such place in this report.": "报表中没有这个单位。", "Week": "周", "Month": "月",
    "{n} ratings": "{n} 条评价", "No ratings in this period.": "本期没有评价。", "overall": "总体",
    "No halls here.": "这里没有营业厅。", "All halls (Excel)": "全部营业厅（Excel）",
    "All halls (CSV)": "全部营业厅（CSV）", "By waiting time (Excel)": "按等候时长（Excel）",
    "By staff member": "按营业员", "By counter": "按窗口", "By service": "按业务", "hall": "全厅",
    "This table (Excel)": "本表（Excel）", "This table (CSV)": "本表（CSV）", "By day (Excel)": "按日（Excel）",
    # the service-level report pages
    "Tickets": "取号数", "Service levels": "服务指标", "the tickets behind a figure": "指标背后的取号明细",
    "Back to the report": "返回报表", "%(n)s tickets": "共 %(n)s 张号", "the latest %(n)s shown; download them all":
    "仅显示最近 %(n)s 张，完整明细请下载", "Taken at": "取号时间", "Tier": "客户级别", "Wait (min)": "等候（分钟）",
    "Handle time (min)": "办理（分钟）", "Transfers": "转移数", "served": "已办结", "no-show": "过号",
    "left the queue": "弃号", "expired": "当日未办", "still open": "未结束", "Average wait": "平均等候",
    "P90 wait (min)": "90分位等候（分钟）", "Called within target": "按时叫号率",
    "Busy-hour wait (min)": "忙时平均等候（分钟）", "Average handle time (min)": "平均办理时长（分钟）",
    "no-show %(a)s · left %(b)s": "过号 %(a)s · 弃号 %(b)s", "Counter utilisation": "窗口利用率",
    "Tickets per visitor at the door": "进厅客户取号率", "%(n)s came in": "进厅 %(n)s 人", "Compared": "对比",
    "City: %(c)s": "本市：%(c)s", "Customer tiers": "客户级别", "Hours of the day": "时段", "Weekdays": "星期",
    "share called within target": "按时叫号率排名", "Click a line to see its tickets.": "点击一行查看取号明细。",
    "Average wait by weekday and hour (minutes)": "各星期、各时段平均等候（分钟）",
    "Where the week hurts: deeper red is a longer wait. Click a cell to see its tickets.":
    "颜色越红等候越久。点击格子查看取号明细。", "No tickets in this period.": "本期没有取号。",
    "How long customers waited": "客户等候时长分布",
    "Customers per waiting time, in minutes from taking the number to the first call.":
    "各等候时长（取号到首次叫号，分钟）的客户数。", "Average wait by day": "每日平均等候",
    "The line is the day's average wait in minutes; the light bars are the tickets taken.":
    "折线为每日平均等候（分钟）；浅色柱为当日取号数。", "How these figures are defined": "指标定义", "Wait": "等候时长",
    "From taking the number to the first call; after a transfer, the time waiting again is added (the customer's whole wait). Time at a counter is not waiting. A ticket never called has no wait.":
    "从取号到首次叫号；转移后再次排队的时间也计入（客户的全部等候）。在窗口办理的时间不算等候。从未叫号的号没有等候时长。",
    "The share of waits no longer than the target wait of the service the ticket was taken for.":
    "等候时长不超过所取业务目标等候时间的比例。", "P90 wait": "90分位等候",
    "Nine customers in ten waited no longer than this. Read from one-minute bins (wider past 10 minutes), so it is right to within a bin.":
    "九成客户的等候不超过此值。按1分钟分档统计（10分钟以上分档更宽），误差在一档以内。", "Busy-hour wait": "忙时等候",
    "Each day's hour with the most tickets taken, and the average wait of the customers who came in it.":
    "每天取号最多的一个小时内到厅客户的平均等候。", "Handle time": "办理时长",
    "From the start of service to its finish, added up over the counters a transferred customer saw. A service cut off when the day ended counts no handle time.":
    "从开始办理到办结；转移的客户在各窗口的办理时间相加。营业日结束时仍未办结的不计办理时长。",
    "No-show and cancellation rates": "过号率和弃号率",
    "Of the tickets closed in the period: called but never came; left the queue before being called.":
    "本期已结束的号中：叫号后未到的比例；叫号前离开的比例。", "Counters and staff": "窗口与营业员",
    "A visit counts for the counter and staff member who served it last (for a no-show, who called it). Utilisation is serving time over the time the counter was open. Staff handle times are compared with the hall's norm for the mix of services they served.":
    "每位客户计入最后为其办理的窗口和营业员（过号计入叫号的窗口）。窗口利用率为办理时间占开窗时间的比例。营业员的办理时长与其所办业务组合的标准时长对比。",
    "Days and hours": "日期与时段",
    "A ticket counts on the business day and in the local hour it was taken, in the hall's own time zone, even if served after midnight. Figures lag the queue by up to 15 minutes; tickets still open are counted as tickets, not in the waits.":
    "每张号按取号时所在营业日和当地时段（营业厅所在时区）统计，即使跨过午夜才办结。数据比实时队列最多晚15分钟；未结束的号计入取号数，不计入等候。",
    "Served": "办结数", "Average wait (min)": "平均等候（分钟）", "No-show rate": "过号率", "Cancellation rate": "弃号率",
    "Utilisation": "利用率", "Norm handle time (min)": "标准办理时长（分钟）",
    "{n} tickets, average wait {m} min": "{n} 张号，平均等候 {m} 分钟", "Ordinary": "普通客户", "not called": "未叫号",
    "{d} {h}:00 · average wait {m} min · {n} tickets a day": "{d} {h}点 · 平均等候 {m} 分钟 · 日均 {n} 张号",
    "By customer tier": "按客户级别", "By hour": "按时段", "By weekday": "按星期", " min": " 分钟",
    "Every ticket (Excel)": "全部取号明细（Excel）",
    "This form has expired or did not come from this site. Please sign in again.":
    "此表单已过期或并非来自本系统，请重新登录。",
    "This screen is not paired with a hall yet.": "本屏幕尚未绑定营业厅。",
    "An administrator enters this code for the hall (POST /api/v1/halls/{id}/devices/pair); the screen then starts by itself.":
    "请管理员为营业厅输入此配对码（POST /api/v1/halls/{id}/devices/pair），屏幕随后自动启动。",
    # the audit trail
    "Audit trail": "操作日志", "every configuration change: who, when, before and after": "每一项配置变更：谁、何时、改前与改后",
    "Entries cannot be edited or deleted. Passwords and PINs show as changed, never their value.":
    "日志不能修改或删除。密码和授权码只显示已修改，不显示内容。", "When (UTC)": "时间（UTC）", "Who": "操作人",
    "What": "对象", "Changes": "变更内容", "device": "设备", "created": "新建", "changed": "修改",
    "No changes recorded here.": "这里没有变更记录。", "Earlier changes": "更早的变更",
    "Tickets taken over the people the door counters saw come in, on the days the door counters counted.":
    "取号数除以客流计数器统计的进厅人数（只算有客流计数的日子）。", "Choose a hall first.": "请先选择营业厅。",
    "These tickets (Excel)": "这些号（Excel）", "These tickets (CSV)": "这些号（CSV）",
}


def main(pot: str) -> int:
    with open(pot, "rb") as f:
        catalog = read_po(f, locale="zh_Hans_CN")
    catalog.fuzzy = False
    catalog.project, catalog.version = "hallq", "1"
    missing = []
    for message in catalog:
        if message.id:
            message.string = ZH.get(message.id, "")
            if not message.string:
                missing.append(message.id)
    out = Path(__file__).resolve().parent.parent / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        write_po(f, catalog, width=120, omit_header=False)
    for m in missing:
        print("untranslated:", m, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
