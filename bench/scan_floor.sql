-- (a0) the physical floor: a parallel count(*) of the orders, reading every row and nothing else
SELECT count(*) FROM orders
