"""The closed loop (闭环): 提事 → 审事 → 议事 → 决事 → 办事 → 公示/反馈 → 评事.

Topics (议题) raised by residents or members move through the shared ``topic`` workflow; a decided
topic becomes tasks (交办单) for responsible units (物业, 社区, 共建单位, 职能部门), who report progress
with photos; the proposer is told and rates the result; an unsatisfied topic can be reopened.
A Piccolo app of its own ("topics").
"""
