-- Powers under an agreement: `agent_reg_num` may place plan-schedules for `customer_reg_num`
-- (ownerRole OA).
CREATE TABLE powers (
    customer_reg_num TEXT NOT NULL REFERENCES organizations (reg_num),
    agent_reg_num    TEXT NOT NULL REFERENCES organizations (reg_num),
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (customer_reg_num, agent_reg_num)
);
