"""街巷议事会 — the lane council of 四牌楼商圈 (合肥市庐阳区 逍遥津街道) as a Yishi practice plugin.

Two meeting kinds (议事会, the formal council; 巷导下午茶, the informal tea with the lane guides),
the 巷导 role, a dispute mediation form between shops and residents, and the 调解协议书 both parties
sign. The plugin module the entry point names is :mod:`yishi_jiexiang.plugin`.
"""
